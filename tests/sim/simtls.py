"""TLS for the simulators (onesim, novasim): the server context, and the
handshake done in each connection's own thread. Python standard library
only."""

import socket
import ssl


def tls_context(cert, key=None, client_ca=None):
    """A server context with our certificate and its key (PEM; key None:
    in cert). With client_ca, clients must present a certificate that CA
    signed (ssl.CERT_REQUIRED)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key or cert)
    if client_ca:
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


class TlsHandshakeMixin:
    """Mixed into a BaseHTTPRequestHandler (before it): the handshake runs
    in setup(), in the connection's own thread, so a client that never
    finishes it cannot stall the accept loop. handle() then calls
    tls_refused_handled(report) first: True when the handshake failed and
    the connection was drained and reported."""

    tls_refused = None

    def setup(self):
        self.tls_refused = None
        if isinstance(self.request, ssl.SSLSocket):
            try:
                self.request.settimeout(10)
                self.request.do_handshake()
                self.request.settimeout(None)
            except (ssl.SSLError, OSError) as exc:
                self.tls_refused = exc
        super().setup()

    def tls_refused_handled(self, report):
        if self.tls_refused is None:
            return False
        # The alert is out; read what the client still sends until it
        # hangs up, so that closing does not reset the connection before
        # the client has read the alert.
        self.close_connection = True
        report(str(self.tls_refused))
        self.log_message("TLS handshake refused: %s", self.tls_refused)
        try:
            self.request.settimeout(2)
            while socket.socket.recv(self.request, 4096):
                pass
        except OSError:
            pass
        return True
