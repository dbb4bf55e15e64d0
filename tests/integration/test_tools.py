# The tool table of tools.py against scripts/setup.sh: every package a test needs must be one
# that the setup script installs, so a fresh machine has it (issue 15).
import os
import unittest

import tools

SETUP = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'scripts',
                     'setup.sh')
ESSENTIAL = {'util-linux', 'perl'}  # on every Debian system (perl-base provides /usr/bin/perl)


class SetupInstallsEveryToolTest(unittest.TestCase):

    def setUp(self):
        with open(SETUP) as f:
            self.words = set(f.read().split())

    def test_every_program_package_is_in_setup(self):
        for program, package in tools.PACKAGES.items():
            if package not in ESSENTIAL:
                self.assertIn(package, self.words,
                              'setup.sh does not install %s (for %s)' % (package, program))

    def test_perl_module_packages_are_in_setup(self):
        for module, package in tools.PERL_MODULES.items():
            self.assertIn(package, self.words,
                          'setup.sh does not install %s (for %s)' % (package, module))

    def test_missing_tool_names_its_package(self):
        with self.assertRaises(tools.MissingTool) as caught:
            tools.require('estafeta-no-such-program')
        self.assertIn('apt-get install', str(caught.exception))
        tools.PACKAGES['estafeta-no-such-program'] = 'estafeta-fake-package'
        try:
            with self.assertRaises(tools.MissingTool) as caught:
                tools.require('estafeta-no-such-program')
            self.assertIn('apt-get install estafeta-fake-package', str(caught.exception))
        finally:
            del tools.PACKAGES['estafeta-no-such-program']

    def test_installed_tools_are_found(self):
        self.assertTrue(os.path.isabs(tools.require('swaks')))
        self.assertTrue(os.path.isabs(tools.require('postmap')))
        tools.require_perl_module('Net::SSLeay')


if __name__ == '__main__':
    unittest.main()
