# Concurrent pipelined load (no timing assertion): many sessions, each sending MAIL, RCPT and
# DATA in one write and the next transaction right behind the body, so that commits of
# different sessions overlap and pipelined input waits while a commit is in flight. Every
# acknowledged message must be delivered exactly once. Regression: a GCC 12 coroutine
# miscompile (a temporary in a co_await expression) corrupted the heap only under this load.
import os
import subprocess
import unittest

import harness
from harness import EstafetaServer


def load_generator():
    path = os.path.join(os.environ.get('ESTAFETA_BUILD_DIR', ''), 'bench', 'smtp_pipeline_load')
    if not os.access(path, os.X_OK):
        raise AssertionError('load generator not built: %s' % path)
    return path


class PipelinedLoadTest(unittest.TestCase):

    def run_load(self, srv, extra, rcpt, messages):
        proc = subprocess.run(
            [load_generator()] + extra + ['-s', '10', '-m', str(messages), '-l', '2048',
                                          '-f', 'load@example.org', '-t', rcpt, '-M',
                                          'load.example', '%s:%d' % (srv.host, srv.port)],
            capture_output=True, text=True, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr + srv.log()[-3000:])
        self.assertIn('acked=%d failed=0' % messages, proc.stdout)

    def test_pipelined_data_and_bdat_sessions(self):
        with EstafetaServer() as srv:
            self.run_load(srv, [], 'piped@localhost', 1000)
            self.run_load(srv, ['-B'], 'chunked@localhost', 1000)
            srv.wait_for_delivery('piped', 1000)
            srv.wait_for_delivery('chunked', 1000)
            self.assertEqual(len(os.listdir(srv.maildir('piped') + '/new')), 1000)
            self.assertEqual(len(os.listdir(srv.maildir('chunked') + '/new')), 1000)
            self.assertNotIn('killed by signal', srv.log())


if __name__ == '__main__':
    unittest.main()
