"""The lake end to end with boto3 and the AWS CLI: JSON files written through S3 into raw, a Glue crawler that
finds the table, its partitions and later a new field, and Athena queries over old and new rows together."""

import gzip
import json
import time
import unittest

from botocore.exceptions import ClientError

from harness import ServerTestCase
from harness import athena_wait as wait


class CrawlerTest(ServerTestCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3, cls.glue, cls.athena = (cls.server.client(name) for name in ("s3", "glue", "athena"))

    def crawl(self, name):
        self.glue.start_crawler(Name=name)
        try:  # one crawl at a time, unless the first finished already
            self.glue.start_crawler(Name=name)
        except ClientError as e:
            self.assertEqual(e.response["Error"]["Code"], "CrawlerRunningException")
        deadline = time.time() + 60
        while self.glue.get_crawler(Name=name)["Crawler"]["State"] != "READY":
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        return self.glue.get_crawler(Name=name)["Crawler"]

    def query(self, sql):
        qid = self.athena.start_query_execution(QueryString=sql, QueryExecutionContext={"Database": "crawled"})[
            "QueryExecutionId"]
        e = wait(self.athena, qid)
        self.assertEqual(e["Status"]["State"], "SUCCEEDED", e["Status"].get("StateChangeReason"))
        rows = []
        for page in self.athena.get_paginator("get_query_results").paginate(QueryExecutionId=qid):
            rows += [[d.get("VarCharValue") for d in r["Data"]] for r in page["ResultSet"]["Rows"]]
        return e, rows[1:]

    def test_crawl_query_evolve(self):
        self.glue.create_database(DatabaseInput={"Name": "crawled"})
        for day in ("01", "02"):
            body = "\n".join(json.dumps({"id": i, "page": "/p%d" % (i % 4), "ms": i * 10}) for i in range(200))
            self.s3.put_object(Bucket="raw", Key="clicks/dt=2024-08-%s/part-0.json" % day, Body=body.encode())
        self.glue.create_crawler(
            Name="clicks", Role="arn:aws:iam::000000000000:role/glue", DatabaseName="crawled",
            Targets={"S3Targets": [{"Path": "s3://raw/clicks/"}]},
            SchemaChangePolicy={"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"},
            Configuration=json.dumps({"Version": 1.0, "CrawlerOutput": {
                "Tables": {"AddOrUpdateBehavior": "MergeNewColumns"},
                "Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}}}))
        with self.assertRaises(ClientError) as ctx:
            self.glue.create_crawler(Name="clicks", Role="r", Targets={"S3Targets": [{"Path": "s3://raw/x/"}]})
        self.assertEqual(ctx.exception.response["Error"]["Code"], "AlreadyExistsException")
        crawler = self.crawl("clicks")
        self.assertEqual(crawler["LastCrawl"]["Status"], "SUCCEEDED")
        t = self.glue.get_table(DatabaseName="crawled", Name="clicks")["Table"]
        self.assertEqual([(c["Name"], c["Type"]) for c in t["StorageDescriptor"]["Columns"]],
                         [("id", "bigint"), ("page", "string"), ("ms", "bigint")])
        self.assertEqual([k["Name"] for k in t["PartitionKeys"]], ["dt"])
        self.assertEqual(t["Parameters"]["classification"], "json")
        parts = self.glue.get_partitions(DatabaseName="crawled", TableName="clicks")["Partitions"]
        self.assertEqual(sorted(p["Values"][0] for p in parts), ["2024-08-01", "2024-08-02"])
        metrics = self.glue.get_crawler_metrics(CrawlerNameList=["clicks"])["CrawlerMetricsList"][0]
        self.assertEqual(metrics["TablesCreated"], 1)

        _, rows = self.query("SELECT count(*), sum(ms) FROM clicks")
        self.assertEqual(rows, [["400", str(2 * sum(i * 10 for i in range(200)))]])
        full, _ = self.query("SELECT count(*) FROM clicks WHERE page = '/p1'")
        part, rows = self.query("SELECT count(*) FROM clicks WHERE dt = '2024-08-02' AND page = '/p1'")
        self.assertEqual(rows, [["50"]])
        self.assertLess(part["Statistics"]["DataScannedInBytes"], full["Statistics"]["DataScannedInBytes"])

        # The next day's events carry a new field, compressed: crawl again, read old and new rows together.
        body = "\n".join(json.dumps({"id": i, "page": "/p0", "ms": 1, "country": "NL"}) for i in range(10))
        self.s3.put_object(Bucket="raw", Key="clicks/dt=2024-08-03/part-0.json.gz",
                           Body=gzip.compress(body.encode()))
        crawler = self.crawl("clicks")
        self.assertEqual(crawler["LastCrawl"]["Status"], "SUCCEEDED")
        t = self.glue.get_table(DatabaseName="crawled", Name="clicks")["Table"]
        self.assertEqual([c["Name"] for c in t["StorageDescriptor"]["Columns"]], ["id", "page", "ms", "country"])
        versions = self.glue.get_table_versions(DatabaseName="crawled", TableName="clicks")["TableVersions"]
        self.assertEqual(len(versions), 2)  # when "country" appeared
        _, rows = self.query("SELECT dt, count(*), count(country) FROM clicks GROUP BY dt ORDER BY dt")
        self.assertEqual(rows, [["2024-08-01", "200", "0"], ["2024-08-02", "200", "0"], ["2024-08-03", "10", "10"]])

        names = self.glue.list_crawlers()["CrawlerNames"]
        self.assertIn("clicks", names)
        self.glue.update_crawler(Name="clicks", Schedule="cron(0 3 * * ? *)")
        self.assertEqual(self.glue.get_crawler(Name="clicks")["Crawler"]["Schedule"]["ScheduleExpression"],
                         "cron(0 3 * * ? *)")
        with self.assertRaises(ClientError) as ctx:
            self.glue.update_crawler(Name="clicks", Schedule="every day")
        self.assertEqual(ctx.exception.response["Error"]["Code"], "InvalidInputException")
        with self.assertRaises(ClientError) as ctx:
            self.glue.stop_crawler(Name="clicks")
        self.assertEqual(ctx.exception.response["Error"]["Code"], "CrawlerNotRunningException")

    def test_the_cli(self):
        self.glue.create_database(DatabaseInput={"Name": "clidb"})
        self.s3.put_object(Bucket="raw", Key="cli-crawl/a.json", Body=b'{"x": 1}\n')
        rc, _, err = self.server.aws("glue", "create-crawler", "--name", "cli", "--role", "r", "--database-name",
                                     "clidb", "--targets", '{"S3Targets":[{"Path":"s3://raw/cli-crawl/"}]}')
        self.assertEqual(rc, 0, err)
        rc, _, err = self.server.aws("glue", "start-crawler", "--name", "cli")
        self.assertEqual(rc, 0, err)
        deadline = time.time() + 60
        while True:
            rc, out, err = self.server.aws("glue", "get-crawler", "--name", "cli")
            if json.loads(out)["Crawler"]["State"] == "READY":
                break
            self.assertLess(time.time(), deadline)
            time.sleep(0.1)
        rc, out, err = self.server.aws("glue", "get-table", "--database-name", "clidb", "--name", "cli_crawl")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["Table"]["StorageDescriptor"]["Columns"], [{"Name": "x", "Type": "bigint"}])
        rc, _, err = self.server.aws("glue", "delete-crawler", "--name", "cli")
        self.assertEqual(rc, 0, err)


if __name__ == "__main__":
    unittest.main()
