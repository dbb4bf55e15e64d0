# "/file/name" items in list parameters (issue 17): Sendmail's local-host-names file
# (sendmail.cw: one domain per line, comments) serves unchanged as mydestination; a domain
# listed only in the file is delivered locally, an unlisted one is relaying (refused for a
# client outside mynetworks). A list file that cannot be read stops the start with an error
# naming the main.cf line and the file, as any bad value does.
import os
import unittest

from harness import EstafetaServer
from test_daemon import start_fg_expecting_exit
from test_daemon_tables import send

LOCAL_HOST_NAMES = """\
# local-host-names - include all aliases for your machine here.
listed.example
# a comment between the names
Second.Example   # the backup name
"""


class ListFilesTest(unittest.TestCase):

    def test_local_host_names_as_mydestination(self):
        with EstafetaServer(start=False) as srv:
            path = os.path.join(srv.dir, 'local-host-names')
            with open(path, 'w') as f:
                f.write(LOCAL_HOST_NAMES)
            srv.main['mydestination'] = path
            # The tests connect from 127.0.0.1: take it out of mynetworks so that an unlisted
            # domain is relaying and refused.
            srv.main['mynetworks'] = '192.0.2.0/24'
            srv.write_config()
            srv.start()
            self.assertIsNone(send(srv, 'alice@listed.example'))
            self.assertIsNone(send(srv, 'bob@second.example'))
            srv.wait_for_delivery('alice', 1)
            srv.wait_for_delivery('bob', 1)
            code, text = send(srv, 'carol@unlisted.example')
            self.assertEqual(code, 454, text)
            self.assertIn(b'4.7.1', text)
            self.assertIn(b'Relay access denied', text)
            # localhost is in the default mydestination, not in the file: relaying now.
            code, text = send(srv, 'dave@localhost')
            self.assertEqual(code, 454, text)

    def test_unreadable_list_file_refuses_to_start(self):
        with EstafetaServer(start=False) as srv:
            missing = os.path.join(srv.dir, 'no-such-local-host-names')
            srv.main['mydestination'] = 'localhost, %s' % missing
            srv.write_config()
            with open(os.path.join(srv.dir, 'main.cf')) as f:
                lines = f.read().splitlines()
            lineno = lines.index('mydestination = localhost, %s' % missing) + 1
            status, err = start_fg_expecting_exit(self, srv.dir)
            self.assertNotEqual(status, 0, err)
            self.assertIn('%s/main.cf:%d: error: mydestination: %s: cannot open: '
                          'No such file or directory' % (srv.dir, lineno, missing), err)


if __name__ == '__main__':
    unittest.main()
