# The external programs the integration tests run, each with the Debian package that provides
# it (scripts/setup.sh installs every one). A test that needs a tool asks for it here first, so
# that on a machine without the package it fails with one line naming the package
# ("swaks not found: apt-get install swaks"), never with a FileNotFoundError deep in a test.
import os
import shutil
import subprocess

# program -> Debian package (scripts/setup.sh must name every package listed here).
PACKAGES = {
    'swaks': 'swaks',
    'openssl': 'openssl',
    'postmap': 'postfix',
    'postalias': 'postfix',
    'postconf': 'postfix',
    'smtp-source': 'postfix',
    'smtp-sink': 'postfix',
    'saslpasswd2': 'sasl2-bin',
    'pflogsumm': 'pflogsumm',
    'dnsmasq': 'dnsmasq-base',
    'nsd': 'nsd',
    'unbound': 'unbound',
    'ldns-keygen': 'ldnsutils',
    'ldns-signzone': 'ldnsutils',
    'redis-server': 'redis-server',
    'initdb': 'postgresql',
    'postgres': 'postgresql',
    'psql': 'postgresql',
    'runuser': 'util-linux',
    'mail': 'bsd-mailx',
    'procmail': 'procmail',
    'useradd': 'passwd',
    'userdel': 'passwd',
    'groupadd': 'passwd',
    'groupdel': 'passwd',
    'perl': 'perl',
    'postgrey': 'postgrey',
    'dovecot': 'dovecot-core',
}

# Extra places where Debian installs programs that are not on a user's PATH.
SEARCH_DIRS = ['/usr/sbin', '/sbin', '/usr/lib/postgresql/15/bin']


class MissingTool(AssertionError):
    """A program or library a test needs is not installed."""


def require(program):
    """The absolute path of `program`, or MissingTool naming the package that provides it."""
    found = shutil.which(program)
    if found is None:
        for directory in SEARCH_DIRS:
            candidate = os.path.join(directory, program)
            if os.access(candidate, os.X_OK):
                found = candidate
                break
    if found is None:
        raise MissingTool('%s not found: apt-get install %s (scripts/setup.sh installs it)'
                          % (program, PACKAGES.get(program, '<the package that provides it>')))
    return found


# perl module -> Debian package. swaks' TLS needs Net::SSLeay, which Debian's swaks only
# recommends (setup.sh installs without recommends).
PERL_MODULES = {
    'Net::SSLeay': 'libnet-ssleay-perl',
    'IO::Socket::SSL': 'libio-socket-ssl-perl',
}


def require_perl_module(module):
    """Fails with the package's name unless perl can load `module`."""
    package = PERL_MODULES[module]
    perl = require('perl')
    probe = subprocess.run([perl, '-M' + module, '-e', '1'], capture_output=True)
    if probe.returncode != 0:
        raise MissingTool('perl module %s not found: apt-get install %s '
                          '(scripts/setup.sh installs it)' % (module, package))

