"""aliases(5) tables (issue 17): `newaliases`, `sendmail -bi` / `-I` and `estafeta alias`
(postalias). newaliases reads alias_database from the main.cf of a private config directory
(-c DIR, ESTAFETA_CONFIG_DIR or sendmail -C DIR) and compiles each table into FILE.lmdb;
`estafeta alias -q` then finds multi-target and continued entries. A broken line draws a
warning naming the file and the line. The stored values and the warnings are compared with
Postfix's postalias on the same file."""
import os
import shutil
import subprocess
import tempfile
import unittest

import harness
import tools

ALIASES = """\
# system aliases
postmaster: root
Multi: alice, bob,
    carol@example.org,
\t"|/usr/bin/logger -t alias", /var/backup-spool/user
"with space": dave
broken line without a colon
list: :include:/etc/mail/list
Postmaster: duplicate
"""


class AliasesToolsTest(unittest.TestCase):
    def setUp(self):
        self.bin = harness.estafeta_bin()
        self.build = os.path.dirname(self.bin)
        self.tmp = tempfile.mkdtemp(prefix="estafeta-aliases-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.conf = os.path.join(self.tmp, "conf")
        os.mkdir(self.conf)
        self.aliases = self.write("aliases", ALIASES)
        self.second = self.write("more-aliases", "extra: erin\n")
        self.write("conf/main.cf", "alias_database = hash:%s, lmdb:%s\n"
                   % (self.aliases, self.second))

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run_tool(self, argv, env=None, stdin=None):
        full_env = dict(os.environ)
        full_env.pop("ESTAFETA_CONFIG_DIR", None)
        full_env.update(env or {})
        return subprocess.run(argv, capture_output=True, text=True, env=full_env, input=stdin,
                              timeout=harness.TIMEOUT)

    def query(self, key, table=None):
        return self.run_tool([self.bin, "alias", "-q", key, table or self.aliases])

    def remove_databases(self):
        for path in (self.aliases + ".lmdb", self.second + ".lmdb"):
            if os.path.exists(path):
                os.unlink(path)

    def check_built(self, result):
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(os.path.exists(self.aliases + ".lmdb"))
        self.assertTrue(os.path.exists(self.second + ".lmdb"))
        q = self.query("multi")
        self.assertEqual((q.returncode, q.stdout),
                         (0, 'alice, bob, carol@example.org, '
                             '"|/usr/bin/logger -t alias", /var/backup-spool/user\n'))
        self.assertEqual(self.query("MULTI").stdout, q.stdout)  # names are folded
        self.assertEqual(self.query("with space").stdout, "dave\n")
        self.assertEqual(self.query("postmaster").stdout, "root\n")  # the first one wins
        self.assertEqual(self.query("extra", self.second).stdout, "erin\n")
        self.assertEqual(self.query("nobody-here").returncode, 1)
        # The broken line is named by file and line; the duplicate by table.
        self.assertIn("%s, line 7: need name:value pair" % self.aliases, result.stderr)
        self.assertIn('duplicate entry: "postmaster"', result.stderr)

    def test_newaliases_with_config_dir(self):
        self.check_built(self.run_tool([self.bin, "-c", self.conf, "newaliases"]))

    def test_newaliases_by_name_with_environment(self):
        newaliases = os.path.join(self.build, "newaliases")
        self.check_built(self.run_tool([newaliases], env={"ESTAFETA_CONFIG_DIR": self.conf}))

    def test_sendmail_bi_and_I(self):
        sendmail = os.path.join(self.build, "sendmail")
        self.check_built(self.run_tool([sendmail, "-bi", "-C", self.conf]))
        self.remove_databases()
        self.check_built(self.run_tool([self.bin, "-c", self.conf, "sendmail", "-I"]))

    def test_rebuild_replaces_the_table(self):
        self.check_built(self.run_tool([self.bin, "-c", self.conf, "newaliases"]))
        self.write("aliases", "postmaster: admin\n")
        r = self.run_tool([self.bin, "-c", self.conf, "newaliases"])
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(self.query("postmaster").stdout, "admin\n")
        self.assertEqual(self.query("multi").returncode, 1)
        self.assertFalse([n for n in os.listdir(self.tmp) if ".tmp." in n])

    def test_missing_source_is_fatal(self):
        os.unlink(self.aliases)
        r = self.run_tool([self.bin, "-c", self.conf, "newaliases"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("fatal: open %s" % self.aliases, r.stderr)

    def test_alias_command_compiles_lists_and_reads_stdin_keys(self):
        r = self.run_tool([self.bin, "alias", self.aliases])
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = self.run_tool([self.bin, "alias", "-s", "hash:" + self.aliases])
        self.assertIn("with space\tdave\n", listed.stdout)
        both = self.run_tool([self.bin, "alias", "-q", "-", self.aliases], stdin="list\nnope\n")
        self.assertEqual(both.stdout, "list\t:include:/etc/mail/list\n")

    def test_same_values_and_warnings_as_postalias(self):
        postalias = tools.require("postalias")
        pfconf = os.path.join(self.tmp, "postfix")
        os.mkdir(pfconf)
        self.write("postfix/main.cf", "compatibility_level = 3.6\n")
        theirs = self.write("theirs", ALIASES + "spaced:  a    b\t,c ,, d\n\"e\\\"q\" : x\n")
        ours = self.write("ours", ALIASES + "spaced:  a    b\t,c ,, d\n\"e\\\"q\" : x\n")
        pa = self.run_tool([postalias, "-c", pfconf, "lmdb:" + theirs])
        self.assertEqual(pa.returncode, 0, pa.stderr)
        ea = self.run_tool([self.bin, "alias", "lmdb:" + ours])
        self.assertEqual(ea.returncode, 0, ea.stderr)

        def entries(stdout):
            # postalias adds "@" (Sendmail's end marker) and the NIS YP_* entries.
            return sorted(line for line in stdout.splitlines()
                          if not line.startswith(("@:", "YP_")))

        listed_theirs = self.run_tool([postalias, "-c", pfconf, "-s", "lmdb:" + theirs])
        listed_ours = self.run_tool([self.bin, "alias", "-s", "lmdb:" + ours])
        self.assertEqual([line.replace(":\t", "\t", 1) for line in entries(listed_theirs.stdout)],
                         entries(listed_ours.stdout))

        def warnings(stderr, program, name):
            prefix = program + ": warning: "
            return sorted(line[len(prefix):].replace(name, "FILE") for line in stderr.splitlines()
                          if line.startswith(prefix))

        self.assertEqual(warnings(pa.stderr, "postalias", theirs),
                         warnings(ea.stderr, "estafeta alias", ours))


if __name__ == "__main__":
    unittest.main()
