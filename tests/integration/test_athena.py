"""SQL over the lake with the Athena API (boto3 and the AWS CLI): JSON files written through S3, a table in the
Glue catalog, queries, results, statistics, cancellation and the catalog browsing BI tools use."""

import csv
import io
import json
import time
import unittest
import uuid

from botocore.exceptions import ClientError

from harness import ServerTestCase
from harness import athena_wait as wait


class AthenaTest(ServerTestCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.client("s3")
        cls.glue = cls.server.client("glue")
        cls.athena = cls.server.client("athena")
        # Events for two days, 300 a day; the second day's files also have a "source" field.
        cls.events = []
        for day in ("2024-06-01", "2024-06-02"):
            for part in range(3):
                lines = []
                for i in range(100):
                    n = len(cls.events)
                    e = {"id": n, "kind": ["click", "view", "buy"][n % 3], "amount": n * 1.5,
                         "tags": ["a", "b"] if n % 2 else [], "user": {"name": "u%d" % (n % 7)}}
                    if day == "2024-06-02":
                        e["source"] = "app"
                    lines.append(json.dumps(e))
                    cls.events.append(dict(e, day=day))
                cls.s3.put_object(Bucket="raw", Key="sqlevents/day=%s/part-%d.json" % (day, part),
                                  Body=("\n".join(lines) + "\n").encode())
        cls.s3.put_object(Bucket="raw", Key="sqlevents/day=2024-06-01/_SUCCESS", Body=b"")
        cls.glue.create_database(DatabaseInput={"Name": "sqllake"})
        cls.glue.create_table(DatabaseName="sqllake", TableInput={
            "Name": "events", "TableType": "EXTERNAL_TABLE", "Parameters": {"classification": "json"},
            "PartitionKeys": [{"Name": "day", "Type": "string"}],
            "StorageDescriptor": {
                "Location": "s3://raw/sqlevents/",
                "Columns": [{"Name": "id", "Type": "bigint"}, {"Name": "kind", "Type": "string"},
                            {"Name": "amount", "Type": "double"}, {"Name": "tags", "Type": "array<string>"},
                            {"Name": "user", "Type": "struct<name:string>"}, {"Name": "source", "Type": "string"}],
                "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"}}})
        cls.glue.batch_create_partition(DatabaseName="sqllake", TableName="events", PartitionInputList=[
            {"Values": [d], "StorageDescriptor": {"Location": "s3://raw/sqlevents/day=%s/" % d}}
            for d in ("2024-06-01", "2024-06-02")])

    def run_query(self, sql, **kw):
        kw.setdefault("QueryExecutionContext", {"Database": "sqllake"})
        qid = self.athena.start_query_execution(QueryString=sql, **kw)["QueryExecutionId"]
        return qid, wait(self.athena, qid)

    def rows(self, qid):
        out = []
        for page in self.athena.get_paginator("get_query_results").paginate(QueryExecutionId=qid,
                                                                            PaginationConfig={"PageSize": 250}):
            for r in page["ResultSet"]["Rows"]:
                out.append([d.get("VarCharValue") for d in r["Data"]])
        return out

    def test_a_select_returns_a_header_row_typed_columns_and_nulls(self):
        qid, e = self.run_query("SELECT id, kind, amount, source, tags, \"user\".name AS name FROM events "
                                "WHERE id IN (0, 301) ORDER BY id")
        self.assertEqual(e["Status"]["State"], "SUCCEEDED", e["Status"].get("StateChangeReason"))
        self.assertEqual((e["StatementType"], e["SubstatementType"]), ("DML", "SELECT"))
        first = self.athena.get_query_results(QueryExecutionId=qid)
        meta = first["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
        self.assertEqual([(c["Name"], c["Type"]) for c in meta],
                         [("id", "bigint"), ("kind", "varchar"), ("amount", "double"), ("source", "varchar"),
                          ("tags", "array"), ("name", "varchar")])
        rows = [[d.get("VarCharValue") for d in r["Data"]] for r in first["ResultSet"]["Rows"]]
        self.assertEqual(rows[0], ["id", "kind", "amount", "source", "tags", "name"])  # the header row
        self.assertEqual(rows[1][:4], ["0", "click", "0.0", None])  # no "source" on the first day: NULL
        self.assertEqual(rows[2][:4], ["301", "view", "451.5", "app"])
        self.assertEqual(rows[2][5], "u0")
        # The result file and its metadata are in the output location.
        location = e["ResultConfiguration"]["OutputLocation"]
        self.assertTrue(location.endswith(qid + ".csv"), location)
        bucket, key = location[len("s3://"):].split("/", 1)
        text = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        parsed = list(csv.reader(io.StringIO(text)))
        self.assertEqual(parsed[0], ["id", "kind", "amount", "source", "tags", "name"])
        self.assertEqual(parsed[2][:4], ["301", "view", "451.5", "app"])
        self.s3.head_object(Bucket=bucket, Key=key + ".metadata")

    def test_results_match_the_data_and_page(self):
        qid, e = self.run_query("SELECT kind, count(*) AS n, sum(amount) AS total FROM events GROUP BY kind ORDER BY kind")
        self.assertEqual(e["Status"]["State"], "SUCCEEDED", e["Status"].get("StateChangeReason"))
        got = {r[0]: (int(r[1]), float(r[2])) for r in self.rows(qid)[1:]}
        want = {}
        for ev in self.events:
            n, total = want.get(ev["kind"], (0, 0.0))
            want[ev["kind"]] = (n + 1, total + ev["amount"])
        self.assertEqual(got, want)
        qid, _ = self.run_query("SELECT id FROM events ORDER BY id")
        ids = [int(r[0]) for r in self.rows(qid)[1:]]
        self.assertEqual(ids, list(range(600)))  # 601 rows with the header, over 3 pages

    def test_a_partition_filter_scans_fewer_bytes(self):
        _, full = self.run_query("SELECT count(*) FROM events")
        _, one = self.run_query("SELECT count(*) FROM events WHERE day = '2024-06-02'")
        full_bytes = full["Statistics"]["DataScannedInBytes"]
        one_bytes = one["Statistics"]["DataScannedInBytes"]
        self.assertGreater(full_bytes, 0)
        self.assertLess(one_bytes, full_bytes * 0.75)
        for key in ("EngineExecutionTimeInMillis", "TotalExecutionTimeInMillis", "QueryQueueTimeInMillis",
                    "QueryPlanningTimeInMillis", "ServiceProcessingTimeInMillis"):
            self.assertIn(key, one["Statistics"])

    def test_bad_sql_fails_with_duckdbs_message(self):
        _, e = self.run_query("SELEC * FROM events")
        self.assertEqual(e["Status"]["State"], "FAILED")
        self.assertIn("syntax error", e["Status"]["StateChangeReason"])
        self.assertEqual(e["Status"]["AthenaError"]["ErrorCategory"], 2)
        _, e = self.run_query("SELECT * FROM no_such_table")
        self.assertEqual(e["Status"]["State"], "FAILED")
        self.assertIn("no_such_table", e["Status"]["StateChangeReason"])
        with self.assertRaises(ClientError) as ctx:
            self.athena.get_query_results(QueryExecutionId=e["QueryExecutionId"])
        self.assertEqual(ctx.exception.response["Error"]["Code"], "InvalidRequestException")

    def test_queries_read_only_the_lake(self):
        for sql in ("SELECT * FROM read_text('/etc/passwd')", "SELECT * FROM read_csv('/etc/hostname')",
                    "COPY (SELECT 1) TO '/tmp/el-escape.csv'", "ATTACH '/tmp/el.db' AS x", "SELECT 1; SELECT 2"):
            _, e = self.run_query(sql)
            self.assertEqual(e["Status"]["State"], "FAILED", sql)

    def test_a_long_query_is_cancelled(self):
        qid = self.athena.start_query_execution(
            QueryString="SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3")["QueryExecutionId"]
        deadline = time.time() + 10
        while self.athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"] != "RUNNING":
            self.assertLess(time.time(), deadline)
            time.sleep(0.02)
        started = time.time()
        self.athena.stop_query_execution(QueryExecutionId=qid)
        e = wait(self.athena, qid, timeout=10)
        self.assertEqual(e["Status"]["State"], "CANCELLED")
        self.assertLess(time.time() - started, 5)

    def test_client_tokens_parameters_and_listing(self):
        token = str(uuid.uuid4())
        a = self.athena.start_query_execution(QueryString="SELECT 1", ClientRequestToken=token)["QueryExecutionId"]
        b = self.athena.start_query_execution(QueryString="SELECT 1", ClientRequestToken=token)["QueryExecutionId"]
        self.assertEqual(a, b)
        qid, e = self.run_query("SELECT count(*) FROM events WHERE kind = ? AND id < ?",
                                ExecutionParameters=["'buy'", "30"])
        self.assertEqual(self.rows(qid)[1], ["10"])
        listed = self.athena.list_query_executions()["QueryExecutionIds"]
        self.assertEqual(listed[0], qid)  # newest first
        self.assertIn(a, [i for p in self.athena.get_paginator("list_query_executions").paginate()
                          for i in p["QueryExecutionIds"]])
        got = self.athena.batch_get_query_execution(QueryExecutionIds=[qid, "no-such-id"])
        self.assertEqual([x["QueryExecutionId"] for x in got["QueryExecutions"]], [qid])
        self.assertEqual([x["QueryExecutionId"] for x in got["UnprocessedQueryExecutionIds"]], ["no-such-id"])

    def test_catalog_browsing_as_bi_tools_do_it(self):
        self.assertEqual(self.athena.list_data_catalogs()["DataCatalogsSummary"][0]["CatalogName"], "AwsDataCatalog")
        dbs = [d["Name"] for d in self.athena.list_databases(CatalogName="AwsDataCatalog")["DatabaseList"]]
        self.assertIn("sqllake", dbs)
        tables = self.athena.list_table_metadata(CatalogName="AwsDataCatalog", DatabaseName="sqllake")
        self.assertEqual([t["Name"] for t in tables["TableMetadataList"]], ["events"])
        t = self.athena.get_table_metadata(CatalogName="AwsDataCatalog", DatabaseName="sqllake", TableName="events")
        self.assertEqual([c["Name"] for c in t["TableMetadata"]["PartitionKeys"]], ["day"])
        self.assertEqual(t["TableMetadata"]["Parameters"]["location"], "s3://raw/sqlevents/")
        with self.assertRaises(ClientError) as ctx:
            self.athena.get_table_metadata(CatalogName="AwsDataCatalog", DatabaseName="sqllake", TableName="nope")
        self.assertEqual(ctx.exception.response["Error"]["Code"], "MetadataException")
        wg = self.athena.get_work_group(WorkGroup="primary")["WorkGroup"]
        self.assertTrue(wg["Configuration"]["ResultConfiguration"]["OutputLocation"].startswith("s3://"))
        self.assertEqual([w["Name"] for w in self.athena.list_work_groups()["WorkGroups"]], ["primary"])

    def test_the_ddl_athena_users_write(self):
        for day in ("2024-07-01", "2024-07-02"):
            self.s3.put_object(Bucket="raw", Key="ddl/dt=%s/a.json" % day,
                               Body=b'{"id": 1, "msg": "x"}\n{"id": 2, "msg": "y"}\n')
        qid, e = self.run_query("""CREATE EXTERNAL TABLE ddl_events (id bigint, msg string)
            PARTITIONED BY (dt string)
            ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
            LOCATION 's3://raw/ddl/'""")
        self.assertEqual(e["Status"]["State"], "SUCCEEDED", e["Status"].get("StateChangeReason"))
        self.assertEqual(e["StatementType"], "DDL")
        self.assertTrue(e["ResultConfiguration"]["OutputLocation"].endswith(qid + ".txt"))
        self.assertEqual(self.glue.get_table(DatabaseName="sqllake", Name="ddl_events")["Table"]["PartitionKeys"][0]["Name"],
                         "dt")
        _, e = self.run_query("MSCK REPAIR TABLE ddl_events")
        self.assertEqual(e["Status"]["State"], "SUCCEEDED", e["Status"].get("StateChangeReason"))
        qid, e = self.run_query("SHOW PARTITIONS ddl_events")
        self.assertEqual(e["StatementType"], "UTILITY")
        self.assertEqual(self.rows(qid), [["dt=2024-07-01"], ["dt=2024-07-02"]])  # no header row
        qid, _ = self.run_query("SELECT dt, count(*) FROM ddl_events GROUP BY dt ORDER BY dt")
        self.assertEqual(self.rows(qid)[1:], [["2024-07-01", "2"], ["2024-07-02", "2"]])
        qid, _ = self.run_query("SHOW TABLES 'ddl*'")
        self.assertEqual(self.rows(qid), [["ddl_events"]])
        qid, _ = self.run_query("DESCRIBE ddl_events")
        self.assertEqual(self.rows(qid)[0], ["id\tbigint\t"])
        _, e = self.run_query("DROP TABLE ddl_events")
        self.assertEqual(e["Status"]["State"], "SUCCEEDED")
        _, e = self.run_query("CREATE EXTERNAL TABLE broken (id bigint")
        self.assertEqual(e["Status"]["State"], "FAILED")

    def test_create_table_as_select_into_the_processed_zone(self):
        qid, e = self.run_query("CREATE TABLE daily WITH (format = 'PARQUET', partitioned_by = ARRAY['day']) AS "
                                "SELECT kind, count(*) AS n, sum(amount) AS total, day FROM events GROUP BY kind, day")
        self.assertEqual(e["Status"]["State"], "SUCCEEDED", e["Status"].get("StateChangeReason"))
        self.assertEqual((e["StatementType"], e["SubstatementType"]), ("DDL", "CREATE_TABLE_AS_SELECT"))
        self.assertEqual(self.athena.get_query_results(QueryExecutionId=qid)["UpdateCount"], 6)
        t = self.glue.get_table(DatabaseName="sqllake", Name="daily")["Table"]
        self.assertEqual(t["StorageDescriptor"]["Location"], "s3://processed/tables/sqllake/daily/")
        self.assertEqual(t["Parameters"]["classification"], "parquet")
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket="processed", Prefix="tables/sqllake/daily/")["Contents"]]
        self.assertTrue(all(k.endswith(".parquet") and "/day=2024-06-0" in k for k in keys), keys)
        qid, _ = self.run_query("SELECT day, sum(n) FROM daily GROUP BY day ORDER BY day")
        self.assertEqual(self.rows(qid)[1:], [["2024-06-01", "300"], ["2024-06-02", "300"]])

    def test_eventlake_sql(self):
        import subprocess
        from harness import BINARY, ACCESS_KEY, SECRET_KEY
        env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "PATH": "/usr/bin:/bin"}
        base = [BINARY, "sql", "--endpoint", self.server.endpoint, "-d", "sqllake"]
        out = subprocess.run(base + ["-f", "csv", "SELECT kind, count(*) AS n FROM events GROUP BY kind ORDER BY kind;"],
                             env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.splitlines(), ["kind,n", "buy,200", "click,200", "view,200"])
        out = subprocess.run(base + ["SELECT id, source FROM events WHERE id IN (0, 300) ORDER BY id"], env=env,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.stdout.splitlines(), [" id  | source", "-----+--------", " 0   | NULL", " 300 | app",
                                                   "(2 rows)"])
        # The prompt: statements end with ';'; a failure sets the exit code.
        out = subprocess.run(base + ["-f", "json"], input="SHOW TABLES;\nSELECT\n  1 AS one;\nSELEC 2;\n", env=env,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 1)
        self.assertIn('{"one":"1"}', out.stdout.splitlines())
        self.assertIn("syntax error", out.stderr)

    def test_the_cli(self):
        rc, out, err = self.server.aws("athena", "start-query-execution", "--query-string",
                                       "SELECT count(*) AS n FROM sqllake.events",
                                       "--result-configuration", "OutputLocation=s3://processed/cli-results/")
        self.assertEqual(rc, 0, err)
        qid = json.loads(out)["QueryExecutionId"]
        e = wait(self.athena, qid)
        self.assertEqual(e["ResultConfiguration"]["OutputLocation"], "s3://processed/cli-results/%s.csv" % qid)
        rc, out, err = self.server.aws("athena", "get-query-results", "--query-execution-id", qid)
        self.assertEqual(rc, 0, err)
        rows = json.loads(out)["ResultSet"]["Rows"]
        self.assertEqual([d["VarCharValue"] for d in rows[1]["Data"]], ["600"])


if __name__ == "__main__":
    unittest.main()
