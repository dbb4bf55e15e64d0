"""Differential test of `estafeta map` against Postfix's postmap (issue 8, item 5).

Both tools build and query the same generated tables; thousands of keys go through `-q -`
and the outputs must be byte-identical (same found keys, same values, same order), for
texthash, hash/lmdb, cidr, pcre, regexp, inline and static. Also checks that each tool reads
the other's lmdb file, the diagnostics for malformed lines, and -s/-d/-i/-r behaviour."""
import os
import random
import shutil
import unittest

import maps_support as ms


class PostmapDifferentialTest(unittest.TestCase):
    def setUp(self):
        ms.estafeta_bin()
        self.tmp = ms.TempDir()
        self.addCleanup(self.tmp.cleanup)
        ms.require_postmap(self.tmp)
        self.rng = random.Random(8)

    def compare_queries(self, spec_ours, spec_theirs, queries, compare_warnings=True):
        stdin = "\n".join(queries) + "\n"
        theirs = ms.run_postmap(self.tmp, ["-q", "-", spec_theirs], stdin)
        ours = ms.run_estafeta(["-q", "-", spec_ours], stdin)
        self.assertEqual(theirs.returncode, ours.returncode, ours.stderr)
        theirs_lines = theirs.stdout.splitlines()
        ours_lines = ours.stdout.splitlines()
        for i, (a, b) in enumerate(zip(theirs_lines, ours_lines)):
            self.assertEqual(a, b, "first difference at output line %d" % i)
        self.assertEqual(len(theirs_lines), len(ours_lines))
        self.assertGreater(len(ours_lines), 10, "too few keys found to be meaningful")
        if compare_warnings:
            self.assertEqual(ms.warnings_of(theirs.stderr, "postmap"),
                             ms.warnings_of(ours.stderr, "estafeta map"))
        return ours_lines

    def test_texthash(self):
        text, queries = ms.texthash_source(self.rng, 3000)
        path = self.tmp.file("t.txt", text)
        self.compare_queries("texthash:" + path, "texthash:" + path, queries)

    def test_hash_and_lmdb(self):
        text, queries = ms.texthash_source(self.rng, 3000)
        ours = self.tmp.file("ours/virtual", text)
        theirs = self.tmp.file("theirs/virtual", text)
        built = ms.run_estafeta(["hash:" + ours])
        self.assertEqual(built.returncode, 0, built.stderr)
        self.assertTrue(os.path.exists(ours + ".lmdb"))
        pm = ms.run_postmap(self.tmp, ["hash:" + theirs])
        self.assertEqual(pm.returncode, 0, pm.stderr)
        self.compare_queries("hash:" + ours, "hash:" + theirs, queries, compare_warnings=False)
        # lmdb: both directions of file compatibility, and the same compile diagnostics.
        pm = ms.run_postmap(self.tmp, ["lmdb:" + theirs])
        self.assertEqual(pm.returncode, 0, pm.stderr)
        built = ms.run_estafeta(["lmdb:" + ours])
        self.assertEqual(built.returncode, 0, built.stderr)
        self.assertEqual(ms.warnings_of(pm.stderr, "postmap"),
                         [w.replace("/ours/", "/theirs/")
                          for w in ms.warnings_of(built.stderr, "estafeta map")])
        self.compare_queries("lmdb:" + theirs, "lmdb:" + theirs, queries, False)
        self.compare_queries("lmdb:" + ours, "lmdb:" + ours, queries, False)
        # -s lists the same entries.
        a = sorted(ms.run_postmap(self.tmp, ["-s", "lmdb:" + theirs]).stdout.splitlines())
        b = sorted(ms.run_estafeta(["-s", "lmdb:" + ours]).stdout.splitlines())
        self.assertEqual(a, b)

    def test_cidr(self):
        text, queries = ms.cidr_source(self.rng, 3000)
        path = self.tmp.file("c.cidr", text)
        self.compare_queries("cidr:" + path, "cidr:" + path, queries)

    def test_cidr_overlaps_first_match_wins(self):
        text = ("10.1.2.0/24 narrow\n10.0.0.0/8 wide\n10.1.2.3 host\n"
                "2001:db8::/32 v6wide\n2001:db8:1::/48 v6narrow\n::ffff:0:0/96 mapped\n"
                "if 192.168.0.0/16\nif !192.168.1.0/24\n192.168.0.0/16 not-one\nendif\n"
                "192.168.1.0/24 one\nendif\n")
        path = self.tmp.file("o.cidr", text)
        queries = ["10.1.2.3", "10.9.9.9", "2001:db8:1::5", "2001:DB8::1", "::ffff:1.2.3.4",
                   "192.168.1.1", "192.168.2.2", "192.169.0.1"]
        self.compare_queries("cidr:" + path, "cidr:" + path, queries * 3)

    def test_pcre(self):
        path = self.tmp.file("r.pcre", ms.REGEX_RULES)
        queries = ms.regex_queries(self.rng, 1500)
        self.compare_queries("pcre:" + path, "pcre:" + path, queries)

    def test_regexp(self):
        path = self.tmp.file("r.regexp", ms.REGEX_RULES)
        queries = ms.regex_queries(self.rng, 1500)
        self.compare_queries("regexp:" + path, "regexp:" + path, queries)

    def test_inline_and_static(self):
        spec = "inline:{ a=1, B=two, { c = text with spaces }, empty=, a=dup, {x=y=z} }"
        queries = ["a", "A", "b", "c", "empty", "x", "missing", "B"] * 200
        self.compare_queries(spec, spec, queries, compare_warnings=False)
        self.compare_queries("static:{ fixed text }", "static:{ fixed text }", queries)

    def test_empty_input_line_is_the_empty_key(self):
        # postmap -q - looks an empty line up as the empty key (body_checks see empty lines).
        path = self.tmp.file("empty.pcre", "/^$/ BLANK\n/^a/ A\n")
        stdin = "a\n\nb\n\n"
        for spec in ("pcre:" + path, "static:{ fixed }"):
            theirs = ms.run_postmap(self.tmp, ["-q", "-", spec], stdin)
            ours = ms.run_estafeta(["-q", "-", spec], stdin)
            self.assertEqual(theirs.stdout, ours.stdout, spec)
            self.assertEqual(theirs.returncode, ours.returncode, spec)
        self.assertEqual(ours.stdout, "a\tfixed\n\tfixed\nb\tfixed\n\tfixed\n")
        # An lmdb table cannot hold the empty key: not found, not an error.
        table = self.tmp.file("e.txt", "x v\n")
        self.assertEqual(ms.run_estafeta(["lmdb:" + table]).returncode, 0)
        looked = ms.run_estafeta(["-q", "-", "lmdb:" + table], "\nx\n")
        self.assertEqual((looked.returncode, looked.stdout, looked.stderr), (0, "x\tv\n", ""))

    def test_update_options(self):
        for tool_dir in ("ours", "theirs"):
            self.tmp.file(tool_dir + "/m", "alpha one\nbeta two\n")
        ours = os.path.join(self.tmp.path, "ours/m")
        theirs = os.path.join(self.tmp.path, "theirs/m")
        runs = [
            ([], None),
            (["-i"], "gamma three\nbeta new\n"),
            (["-i", "-r"], "beta newer\n"),
            (["-d", "alpha"], None),
            (["-d", "nope"], None),
            (["-d", "-"], "gamma\nnope\n"),
        ]
        for args, stdin in runs:
            a = ms.run_postmap(self.tmp, args + ["lmdb:" + theirs], stdin)
            b = ms.run_estafeta(args + ["lmdb:" + ours], stdin)
            self.assertEqual(a.returncode, b.returncode, (args, a.stderr, b.stderr))
            self.assertEqual(sorted(ms.run_postmap(self.tmp, ["-s", "lmdb:" + theirs]).stdout.splitlines()),
                             sorted(ms.run_estafeta(["-s", "lmdb:" + ours]).stdout.splitlines()), args)

    def test_exit_codes(self):
        path = self.tmp.file("e.txt", "key value\n")
        for args in (["-q", "key", "texthash:" + path], ["-q", "nokey", "texthash:" + path],
                     ["-q", "x", "cidr:" + path + ".missing"], ["-q"], ["cidr:" + path],
                     ["-s", "static:x"], ["-q", "x", "inline:{a}"]):
            a = ms.run_postmap(self.tmp, args)
            b = ms.run_estafeta(args)
            self.assertEqual(a.returncode, b.returncode, (args, a.stderr, b.stderr))
            self.assertEqual(a.stdout, b.stdout, args)


if __name__ == "__main__":
    unittest.main()
