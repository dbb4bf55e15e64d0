# A scripted SMTP server on loopback for the outbound tests' failure cases (a 4xx then a
# success, a refused recipient, a peer that stalls or answers garbage): what Postfix's
# smtp-sink cannot be told to do per recipient. One thread per connection; every transaction
# it accepted is kept (sender, recipients, data) for the test to check. Stopped by stop() or
# the with-block. Replies are plain strings; a reply of None closes the connection, the
# string 'STALL' stops answering (the client's timeout is then what ends the session). With
# 'STARTTLS' in ehlo_lines it offers STARTTLS but cannot do TLS: the handshake fails.
# With tls_context it offers STARTTLS and does TLS; with auth ({user: password}) it offers AUTH
# PLAIN LOGIN (only after STARTTLS when tls_context is set, as Postfix's smtpd_tls_auth_only),
# refuses MAIL before a successful AUTH with 530, and answers wrong credentials with 535.
# With close_after_data it closes each connection right after its end-of-data reply, as a
# server that drops idle clients (the smtp agent's cached connection is then stale).
# With stall_in_body (a function (transaction number) -> bool) it stops reading in the middle
# of that transaction's message content, after its first 64 KiB, with a small receive buffer:
# the client's writes block until its smtp_data_xfer_timeout ends the session.
import base64
import socket
import threading


class ScriptedSmtp:
    def __init__(self, host='127.0.0.1', port=0, greeting='220 scripted.test ESMTP',
                 ehlo_lines=('PIPELINING', 'SIZE 10240000', '8BITMIME', 'DSN',
                             'ENHANCEDSTATUSCODES'),
                 rcpt=None, data='354 End data with <CR><LF>.<CR><LF>',
                 end_of_data='250 2.0.0 Ok: queued', mail='250 2.1.0 Ok', tls_context=None,
                 auth=None, close_after_data=False, stall_in_body=None):
        """rcpt: a function (address, transaction number) -> reply, default 250.
        end_of_data: a reply or a function (transaction number) -> reply. Transactions are
        numbered from 1 over every connection."""
        self.greeting = greeting
        self.ehlo_lines = list(ehlo_lines)
        self.rcpt = rcpt or (lambda address, n: '250 2.1.5 Ok')
        self.data_reply = data
        self.end_of_data = end_of_data
        self.mail_reply = mail
        self.tls_context = tls_context  # ssl.SSLContext (server side) for STARTTLS
        self.auth = auth                # {user: password}: AUTH required before MAIL
        self.close_after_data = close_after_data
        self.stall_in_body = stall_in_body
        self.body_stalls = 0      # transactions in which it stopped reading the content
        self._stopped = threading.Event()
        self.auth_log = []              # (mechanism, user, ok, over TLS) per AUTH
        self.accepted = []        # (sender, [recipients], data bytes)
        self.connections = 0
        self.peers = []           # the client address of each connection
        self.commands = []        # every command line received, in order
        self.transactions = 0     # MAIL commands so far, over every connection
        self._lock = threading.Lock()
        family = socket.AF_INET6 if ':' in host else socket.AF_INET  # '::1' for IPv6
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if stall_in_body is not None:
            # A fixed small window (no autotuning), inherited by accepted connections.
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self._sock.bind((host, port))
        self._sock.listen(16)
        self.host, self.port = self._sock.getsockname()[:2]
        self._stopping = False
        self._threads = []
        self._clients = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stopping = True
        self._stopped.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        for c in list(self._clients):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._acceptor.join(5)
        for t in self._threads:
            t.join(5)

    def _accept(self):
        while not self._stopping:
            try:
                conn, address = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self.peers.append(address[0])
                self._clients.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn):
        f = conn.makefile('rb')
        attempt = {'n': 0}  # this transaction's number over every connection
        tls = False
        authenticated = False

        def say(reply):
            if reply is None:
                conn.close()
                return False
            if reply == 'STALL':
                return None
            conn.sendall(reply.encode() + b'\r\n')
            return True

        try:
            if say(self.greeting) is not True:
                return
            sender, recipients = None, []
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.rstrip(b'\r\n').decode('utf-8', 'replace')
                with self._lock:
                    self.commands.append(cmd)
                verb = cmd.split(' ', 1)[0].upper()
                if verb == 'EHLO':
                    lines = ['scripted.test'] + self.ehlo_lines
                    if self.tls_context is not None and not tls:
                        lines.append('STARTTLS')
                    if self.auth is not None and (tls or self.tls_context is None):
                        lines.append('AUTH PLAIN LOGIN')
                    text = '\r\n'.join('250-' + l for l in lines[:-1]) + '\r\n250 ' + lines[-1]
                    r = say(text)
                elif verb == 'HELO':
                    r = say('250 scripted.test')
                elif verb == 'STARTTLS' and self.tls_context is not None and not tls:
                    say('220 2.0.0 Ready to start TLS')
                    conn = self.tls_context.wrap_socket(conn, server_side=True)
                    f = conn.makefile('rb')
                    tls = True
                    r = True
                elif verb == 'AUTH' and self.auth is not None and not authenticated:
                    mechanism, user, ok = self._authenticate(cmd, f, say)
                    with self._lock:
                        self.auth_log.append((mechanism, user, ok, tls))
                    authenticated = ok
                    r = say('235 2.7.0 Authentication successful' if ok else
                            '535 5.7.8 Error: authentication failed')
                elif verb == 'MAIL' and self.auth is not None and not authenticated:
                    r = say('530 5.7.0 Authentication required')
                elif verb == 'MAIL':
                    sender, recipients = cmd[10:].split('>', 1)[0].lstrip('<'), []
                    with self._lock:
                        self.transactions += 1
                        attempt['n'] = self.transactions
                    r = say(self.mail_reply)
                elif verb == 'RCPT':
                    address = cmd[8:].split('>', 1)[0].lstrip('<')
                    reply = self.rcpt(address, attempt['n'])
                    if reply and reply.startswith('2'):
                        recipients.append(address)
                    r = say(reply)
                elif verb == 'DATA':
                    if not recipients:
                        r = say('554 5.5.1 Error: no valid recipients')
                        continue
                    r = say(self.data_reply)
                    if r is not True or not self.data_reply.startswith('354'):
                        continue
                    data = bytearray()  # appended line by line: bytes += would copy it all each time
                    stall = self.stall_in_body is not None and self.stall_in_body(attempt['n'])
                    while True:
                        if stall and len(data) >= 64 * 1024:
                            # Stop reading: the window fills and the client's write blocks.
                            with self._lock:
                                self.body_stalls += 1
                            self._stopped.wait()
                            return
                        l = f.readline()
                        if not l:
                            return
                        if l == b'.\r\n':
                            break
                        data += l
                    end = self.end_of_data
                    reply = end(attempt['n']) if callable(end) else end
                    if reply and reply.startswith('2'):
                        with self._lock:
                            self.accepted.append((sender, list(recipients), bytes(data)))
                    r = say(reply)
                    if self.close_after_data:
                        return
                elif verb == 'STARTTLS':
                    # No TLS here: a handshake that cannot succeed (the client's TLS hello is
                    # answered with bytes that are no TLS record, then the connection closes).
                    say('220 2.0.0 Ready to start TLS')
                    conn.recv(4096)  # the client's TLS hello, then no TLS answer
                    conn.sendall(b'this is not TLS\r\n')
                    return
                elif verb == 'RSET':
                    sender, recipients = None, []
                    r = say('250 2.0.0 Ok')
                elif verb == 'QUIT':
                    say('221 2.0.0 Bye')
                    return
                else:
                    r = say('502 5.5.2 Error: command not recognized')
                if r is None:  # STALL: read on, answer nothing
                    while f.readline():
                        pass
                    return
                if r is False:
                    return
        except (OSError, ValueError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _authenticate(self, cmd, f, say):
        """Reads the rest of an AUTH exchange; returns (mechanism, user, credentials ok)."""
        words = cmd.split()
        mechanism = words[1].upper() if len(words) > 1 else ''

        def response(challenge):
            say('334 ' + challenge)
            return f.readline().rstrip(b'\r\n')

        try:
            if mechanism == 'PLAIN':
                data = words[2].encode() if len(words) > 2 else response('')
                _, user, password = base64.b64decode(data).decode().split('\0')
            elif mechanism == 'LOGIN':
                user = base64.b64decode(response('VXNlcm5hbWU6')).decode()
                password = base64.b64decode(response('UGFzc3dvcmQ6')).decode()
            else:
                return mechanism, '', False
        except (ValueError, UnicodeDecodeError):
            return mechanism, '', False
        return mechanism, user, self.auth.get(user) == password
