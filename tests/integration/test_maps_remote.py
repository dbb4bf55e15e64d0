"""pgsql: and redis: tables against a real PostgreSQL 15 and a real Redis that the test
starts on loopback (free port, temp dir) and stops by pid. Checks Found / NotFound, escaping
of hostile keys, several rows joined with ", ", and that a dead or hung server is a query
error (postmap's exit 1 with "query error"), never an answer."""
import unittest

import maps_support as ms


class RedisTableTest(unittest.TestCase):
    def setUp(self):
        ms.estafeta_bin()
        self.tmp = ms.TempDir()
        self.redis = ms.RedisServer(self.tmp)

    def tearDown(self):
        self.redis.stop()
        self.tmp.cleanup()

    def test_lookups(self):
        self.redis.command("SET", "virtual:alice@example.com", "alice@mailhost")
        self.redis.command("SET", "virtual:empty", "")
        cf = self.tmp.file("r.cf", "hosts = 127.0.0.1:%d\nkey_format = virtual:%%s\n"
                                   "timeout = 5\n" % self.redis.port)
        r = ms.run_estafeta(["-q", "alice@example.com", "redis:" + cf])
        self.assertEqual((r.returncode, r.stdout), (0, "alice@mailhost\n"), r.stderr)
        r = ms.run_estafeta(["-q", "bob@example.com", "redis:" + cf])
        self.assertEqual((r.returncode, r.stdout), (1, ""), r.stderr)
        r = ms.run_estafeta(["-q", "-", "redis:" + cf],
                            "alice@example.com\nbob@example.com\nempty\n")
        self.assertEqual(r.stdout, "alice@example.com\talice@mailhost\nempty\t\n")

    def test_dead_server_is_an_error_not_a_miss(self):
        cf = self.tmp.file("r.cf", "hosts = 127.0.0.1:%d\ntimeout = 2\n" % self.redis.port)
        self.redis.stop()
        r = ms.run_estafeta(["-q", "x", "redis:" + cf])
        self.assertEqual(r.returncode, 1)
        self.assertIn("query error", r.stderr)

    def test_hung_server_times_out(self):
        silent = ms.SilentServer()
        try:
            cf = self.tmp.file("h.cf", "hosts = 127.0.0.1:%d\ntimeout = 0.5\n" % silent.port)
            r = ms.run_estafeta(["-q", "x", "redis:" + cf])
            self.assertEqual(r.returncode, 1)
            self.assertIn("query error", r.stderr)
        finally:
            silent.close()


class PgsqlTableTest(unittest.TestCase):
    def setUp(self):
        ms.estafeta_bin()
        self.tmp = ms.TempDir()
        self.pg = ms.PostgresServer(self.tmp)
        self.pg.sql("CREATE DATABASE mail")
        self.pg.sql("CREATE TABLE virtual (address text, goto text);"
                    "INSERT INTO virtual VALUES ('alice@example.com', 'alice@mailhost'),"
                    "('list@example.com', 'a@x'), ('list@example.com', 'b@y'),"
                    "('o''brien@example.com', 'quoted');", db="mail")
        self.cf = self.tmp.file("p.cf", (
            "hosts = 127.0.0.1:%d\nuser = estafeta\ndbname = mail\ntimeout = 10\n"
            "query = SELECT goto FROM virtual WHERE address = '%%s' ORDER BY goto\n")
            % self.pg.port)

    def tearDown(self):
        self.pg.stop()
        self.tmp.cleanup()

    def test_lookups(self):
        spec = "pgsql:" + self.cf
        r = ms.run_estafeta(["-q", "alice@example.com", spec])
        self.assertEqual((r.returncode, r.stdout), (0, "alice@mailhost\n"), r.stderr)
        r = ms.run_estafeta(["-q", "list@example.com", spec])
        self.assertEqual(r.stdout, "a@x, b@y\n")
        r = ms.run_estafeta(["-q", "o'brien@example.com", spec])
        self.assertEqual(r.stdout, "quoted\n", r.stderr)
        r = ms.run_estafeta(["-q", "x' OR '1'='1", spec])
        self.assertEqual((r.returncode, r.stdout), (1, ""), r.stderr)
        r = ms.run_estafeta(["-q", "-", spec], "nobody@example.com\nalice@example.com\n")
        self.assertEqual(r.stdout, "alice@example.com\talice@mailhost\n")

    def test_bad_query_is_an_error_not_a_miss(self):
        cf = self.tmp.file("bad.cf", "hosts = 127.0.0.1:%d\nuser = estafeta\ndbname = mail\n"
                                     "query = SELECT nosuchcolumn FROM virtual\n" % self.pg.port)
        r = ms.run_estafeta(["-q", "x", "pgsql:" + cf])
        self.assertEqual(r.returncode, 1)
        self.assertIn("query error", r.stderr)

    def test_hung_server_times_out(self):
        silent = ms.SilentServer()
        try:
            cf = self.tmp.file("h.cf", "hosts = 127.0.0.1:%d\nuser = x\ndbname = x\n"
                                       "query = SELECT 1\ntimeout = 0.5\n" % silent.port)
            r = ms.run_estafeta(["-q", "x", "pgsql:" + cf])
            self.assertEqual(r.returncode, 1)
            self.assertIn("query error", r.stderr)
        finally:
            silent.close()


if __name__ == "__main__":
    unittest.main()
