"""The Glue Data Catalog (databases, tables, versions, partitions) with boto3 and the AWS CLI."""

import json
import unittest

from botocore.exceptions import ClientError

from harness import ServerTestCase


def code(ctx):
    return ctx.exception.response["Error"]["Code"]


def table_input(name, columns=(("id", "bigint"), ("msg", "string")), keys=(("year", "string"), ("month", "string"))):
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "json", "EXTERNAL": "TRUE"},
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t} for n, t in columns],
            "Location": "s3://raw/%s/" % name,
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe", "Parameters": {"paths": "id,msg"}},
            "SkewedInfo": {"SkewedColumnNames": []},
        },
        "PartitionKeys": [{"Name": n, "Type": t} for n, t in keys],
    }


class GlueTest(ServerTestCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.g = cls.server.client("glue")

    def database(self, name):
        self.g.create_database(DatabaseInput={"Name": name, "Description": "for " + self._testMethodName})
        self.addCleanup(lambda: self.g.delete_database(Name=name))
        return name

    def test_databases(self):
        self.database("MixedCase")
        db = self.g.get_database(Name="mixedcase")["Database"]
        self.assertEqual(db["Name"], "mixedcase")  # Glue keeps names in lower case
        self.assertEqual(db["Description"], "for test_databases")
        self.assertIn("CreateTime", db)
        self.assertEqual(db["CatalogId"], "000000000000")
        with self.assertRaises(ClientError) as e:
            self.g.create_database(DatabaseInput={"Name": "mixedcase"})
        self.assertEqual(code(e), "AlreadyExistsException")
        with self.assertRaises(ClientError) as e:
            self.g.get_database(Name="nothing-here")
        self.assertEqual(code(e), "EntityNotFoundException")
        self.g.update_database(Name="mixedcase", DatabaseInput={"Name": "mixedcase", "Description": "changed",
                                                               "Parameters": {"owner": "data"}})
        db = self.g.get_database(Name="mixedcase")["Database"]
        self.assertEqual((db["Description"], db["Parameters"]), ("changed", {"owner": "data"}))
        names = [d["Name"] for page in self.g.get_paginator("get_databases").paginate(PaginationConfig={"PageSize": 1})
                 for d in page["DatabaseList"]]
        self.assertIn("mixedcase", names)
        with self.assertRaises(ClientError) as e:
            self.g.get_database(Name="x", CatalogId="123456789012")
        self.assertEqual(code(e), "EntityNotFoundException")
        # What boto3 refuses to send, sent raw.
        for body, want in ((b'{"DatabaseInput": {"Name": ""}}', "ValidationException"),
                           (b'{"DatabaseInput": "x"}', "SerializationException"),
                           (b'[1]', "SerializationException"),
                           (b'{"DatabaseInput": {"Name": "x", "Parameters": {"a": 1}}}', "InvalidInputException")):
            status, _, out = self.server.signed_raw("glue", {"Content-Type": "application/x-amz-json-1.1",
                                                             "X-Amz-Target": "AWSGlue.CreateDatabase"}, body)
            self.assertEqual((status, json.loads(out)["__type"]), (400, want), body)

    def test_tables_and_their_versions(self):
        db = self.database("versions")
        self.g.create_table(DatabaseName=db, TableInput=table_input("Events"))
        t = self.g.get_table(DatabaseName=db, Name="events")["Table"]
        self.assertEqual((t["Name"], t["DatabaseName"], t["VersionId"]), ("events", db, "0"))
        self.assertEqual(t["StorageDescriptor"]["SerdeInfo"]["Parameters"], {"paths": "id,msg"})
        self.assertEqual([k["Name"] for k in t["PartitionKeys"]], ["year", "month"])
        with self.assertRaises(ClientError) as e:
            self.g.create_table(DatabaseName=db, TableInput=table_input("events"))
        self.assertEqual(code(e), "AlreadyExistsException")
        with self.assertRaises(ClientError) as e:
            self.g.create_table(DatabaseName="no-such-db", TableInput=table_input("events"))
        self.assertEqual(code(e), "EntityNotFoundException")

        wider = table_input("events", columns=(("id", "bigint"), ("msg", "string"), ("source", "string")))
        self.g.update_table(DatabaseName=db, TableInput=wider)
        with self.assertRaises(ClientError) as e:
            self.g.update_table(DatabaseName=db, TableInput=wider, VersionId="0")
        self.assertEqual(code(e), "ConcurrentModificationException")
        versions = self.g.get_table_versions(DatabaseName=db, TableName="events")["TableVersions"]
        self.assertEqual([v["VersionId"] for v in versions], ["1", "0"])
        self.assertEqual(len(versions[0]["Table"]["StorageDescriptor"]["Columns"]), 3)
        self.assertEqual(len(versions[1]["Table"]["StorageDescriptor"]["Columns"]), 2)
        old = self.g.get_table_version(DatabaseName=db, TableName="events", VersionId="0")["TableVersion"]
        self.assertEqual(old["VersionId"], "0")
        self.g.delete_table_version(DatabaseName=db, TableName="events", VersionId="0")
        errors = self.g.batch_delete_table_version(DatabaseName=db, TableName="events", VersionIds=["0", "1"])["Errors"]
        self.assertEqual(sorted(e["VersionId"] for e in errors), ["0", "1"])  # gone already; the current one

        for name in ("clicks", "click_errors", "orders"):
            self.g.create_table(DatabaseName=db, TableInput=table_input(name))
        listed = self.g.get_tables(DatabaseName=db, Expression="click.*")["TableList"]
        self.assertEqual(sorted(t["Name"] for t in listed), ["click_errors", "clicks"])
        self.assertEqual(len(self.g.get_tables(DatabaseName=db, Expression="*s")["TableList"]), 4)
        pages = list(self.g.get_paginator("get_tables").paginate(DatabaseName=db, PaginationConfig={"PageSize": 2}))
        self.assertEqual(sum(len(p["TableList"]) for p in pages), 4)
        errors = self.g.batch_delete_table(DatabaseName=db, TablesToDelete=["clicks", "missing"])["Errors"]
        self.assertEqual([(e["TableName"], e["ErrorDetail"]["ErrorCode"]) for e in errors],
                         [("missing", "EntityNotFoundException")])
        self.g.delete_table(DatabaseName=db, Name="orders")
        with self.assertRaises(ClientError) as e:
            self.g.get_table(DatabaseName=db, Name="orders")
        self.assertEqual(code(e), "EntityNotFoundException")

    def test_partitions(self):
        db = self.database("parts")
        self.g.create_table(DatabaseName=db, TableInput=table_input("logs"))
        inputs = []
        for year in ("2023", "2024"):
            for month in range(1, 13):
                inputs.append({"Values": [year, "%02d" % month],
                               "StorageDescriptor": {"Location": "s3://raw/logs/year=%s/month=%02d/" % (year, month),
                                                     "Columns": [{"Name": "id", "Type": "bigint"}]}})
        for i in range(0, len(inputs), 100):
            self.assertEqual(self.g.batch_create_partition(DatabaseName=db, TableName="logs",
                                                           PartitionInputList=inputs[i:i + 100])["Errors"], [])
        errors = self.g.batch_create_partition(DatabaseName=db, TableName="logs",
                                               PartitionInputList=[inputs[0], {"Values": ["2025"]}])["Errors"]
        self.assertEqual([e["ErrorDetail"]["ErrorCode"] for e in errors], ["AlreadyExistsException",
                                                                           "InvalidInputException"])

        got = self.g.get_partitions(DatabaseName=db, TableName="logs",
                                    Expression="year = '2024' AND month BETWEEN '03' AND '05'")["Partitions"]
        self.assertEqual([p["Values"] for p in got], [["2024", "03"], ["2024", "04"], ["2024", "05"]])
        self.assertEqual(got[0]["StorageDescriptor"]["Location"], "s3://raw/logs/year=2024/month=03/")
        lean = self.g.get_partitions(DatabaseName=db, TableName="logs", Expression="month IN ('01')",
                                     ExcludeColumnSchema=True)["Partitions"]
        self.assertEqual(len(lean), 2)
        self.assertNotIn("Columns", lean[0]["StorageDescriptor"])
        all_values = [p["Values"] for page in self.g.get_paginator("get_partitions").paginate(
            DatabaseName=db, TableName="logs", PaginationConfig={"PageSize": 5}) for p in page["Partitions"]]
        self.assertEqual(len(all_values), 24)
        segments = sum(len(self.g.get_partitions(DatabaseName=db, TableName="logs",
                                                 Segment={"SegmentNumber": n, "TotalSegments": 4})["Partitions"])
                       for n in range(4))
        self.assertEqual(segments, 24)
        with self.assertRaises(ClientError) as e:
            self.g.get_partitions(DatabaseName=db, TableName="logs", Expression="day = '01'")
        self.assertEqual(code(e), "InvalidInputException")

        one = self.g.get_partition(DatabaseName=db, TableName="logs", PartitionValues=["2023", "07"])["Partition"]
        self.assertEqual((one["DatabaseName"], one["TableName"]), (db, "logs"))
        batch = self.g.batch_get_partition(DatabaseName=db, TableName="logs", PartitionsToGet=[
            {"Values": ["2023", "07"]}, {"Values": ["1999", "01"]}])
        self.assertEqual([p["Values"] for p in batch["Partitions"]], [["2023", "07"]])
        self.g.update_partition(DatabaseName=db, TableName="logs", PartitionValueList=["2023", "07"],
                                PartitionInput={"Values": ["2023", "07"], "Parameters": {"checked": "yes"}})
        self.assertEqual(self.g.get_partition(DatabaseName=db, TableName="logs", PartitionValues=["2023", "07"])
                         ["Partition"]["Parameters"], {"checked": "yes"})
        self.g.delete_partition(DatabaseName=db, TableName="logs", PartitionValues=["2023", "07"])
        errors = self.g.batch_delete_partition(DatabaseName=db, TableName="logs", PartitionsToDelete=[
            {"Values": ["2023", "07"]}, {"Values": ["2023", "08"]}])["Errors"]
        self.assertEqual([e["PartitionValues"] for e in errors], [["2023", "07"]])
        with self.assertRaises(ClientError) as e:
            self.g.get_partition(DatabaseName=db, TableName="logs", PartitionValues=["2023", "08"])
        self.assertEqual(code(e), "EntityNotFoundException")

    def test_the_catalog_survives_a_restart(self):
        db = self.database("durable")
        self.g.create_table(DatabaseName=db, TableInput=table_input("kept"))
        self.g.create_partition(DatabaseName=db, TableName="kept", PartitionInput={"Values": ["2024", "01"]})
        self.server.stop()
        self.server.start()
        GlueTest.g = self.server.client("glue")
        self.assertEqual(self.g.get_table(DatabaseName=db, Name="kept")["Table"]["VersionId"], "0")
        self.assertEqual(len(self.g.get_partitions(DatabaseName=db, TableName="kept")["Partitions"]), 1)

    def cli(self, *args):
        rc, out, err = self.server.aws(*args)
        self.assertEqual(rc, 0, err)
        return json.loads(out) if out.strip() else None

    def test_the_cli(self):
        db = self.database("cli")
        self.cli("glue", "create-table", "--database-name", db, "--table-input", json.dumps(table_input("t")))
        out = self.cli("glue", "get-tables", "--database-name", db)
        self.assertEqual([t["Name"] for t in out["TableList"]], ["t"])
        self.cli("glue", "create-partition", "--database-name", db, "--table-name", "t", "--partition-input",
                        json.dumps({"Values": ["2024", "02"]}))
        out = self.cli("glue", "get-partitions", "--database-name", db, "--table-name", "t", "--expression",
                       "year='2024'")
        self.assertEqual([p["Values"] for p in out["Partitions"]], [["2024", "02"]])


if __name__ == "__main__":
    unittest.main()
