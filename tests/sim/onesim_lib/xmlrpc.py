"""XML-RPC wire format, shaped like oned's xmlrpc-c/Abyss server.

Responses reproduce what a real oned 6.10 writes byte for byte where it
matters to a client: CRLF line breaks, integers as <i4>, booleans as 0/1,
the replication index of a failure as <i8>.
"""

import base64

from .xmlutil import XMLError, safe_fromstring, esc
from . import states


class Fault(Exception):
    """An XML-RPC <fault> (xmlrpc-c raises these for type errors)."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class I8(int):
    """Marks an integer that must be encoded as <i8>."""


def esc_value(text):
    """Escape a <string> value as xmlrpc-c does (CR kept as a reference)."""
    return esc(text).replace("\r", "&#x0d;")


class Raw(str):
    """A string value that is already XML-escaped (used for big documents,
    which are assembled from pre-escaped cached fragments)."""


# --------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------

def _decode_value(node):
    """<value> element -> Python value (typed for signature checks)."""
    children = list(node)
    if not children:
        return node.text or ""          # untyped value = string
    typed = children[0]
    tag = typed.tag
    text = typed.text or ""
    if tag in ("i4", "int", "i8"):
        try:
            number = int(text.strip())
        except ValueError:
            raise Fault(states.FAULT_PARSE, "Invalid integer value") from None
        # keep <i8> distinguishable: xmlrpc-c's getInt() refuses it
        return I8(number) if tag == "i8" else number
    if tag == "boolean":
        if text.strip() not in ("0", "1"):
            raise Fault(states.FAULT_PARSE, "Invalid boolean value")
        return text.strip() == "1"
    if tag == "string":
        return text
    if tag == "double":
        try:
            return float(text.strip())
        except ValueError:
            raise Fault(states.FAULT_PARSE, "Invalid double value") from None
    if tag == "base64":
        try:
            return base64.b64decode(text)
        except ValueError:
            raise Fault(states.FAULT_PARSE, "Invalid base64 value") from None
    if tag == "dateTime.iso8601":
        return text
    if tag == "nil":
        return None
    if tag == "array":
        data = typed.find("data")
        if data is None:
            return []
        return [_decode_value(v) for v in data.findall("value")]
    if tag == "struct":
        out = {}
        for member in typed.findall("member"):
            name = member.findtext("name") or ""
            value = member.find("value")
            out[name] = _decode_value(value) if value is not None else ""
        return out
    raise Fault(states.FAULT_PARSE, "Unknown value type <%s>" % tag)


def parse_request(body):
    """-> (method_name, [params]); raises Fault on anything unparseable."""
    try:
        root = safe_fromstring(body)
    except XMLError as exc:
        raise Fault(states.FAULT_PARSE, "Could not parse XML-RPC call: %s" % exc) from None
    if root.tag != "methodCall":
        raise Fault(states.FAULT_PARSE, "XML-RPC call element is not <methodCall>")
    name = (root.findtext("methodName") or "").strip()
    if not name:
        raise Fault(states.FAULT_PARSE, "XML-RPC call has no method name")
    params = []
    plist = root.find("params")
    if plist is not None:
        for param in plist.findall("param"):
            value = param.find("value")
            if value is None:
                raise Fault(states.FAULT_PARSE, "<param> without <value>")
            params.append(_decode_value(value))
    return name, params


# --------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------

_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\r\n<methodResponse>\r\n'


def _value_xml(value):
    if isinstance(value, bool):
        return "<value><boolean>%d</boolean></value>" % int(value)
    if isinstance(value, I8):
        return "<value><i8>%d</i8></value>" % value
    if isinstance(value, int):
        return "<value><i4>%d</i4></value>" % value
    if isinstance(value, Raw):
        return "<value><string>" + value + "</string></value>"
    if isinstance(value, str):
        return "<value><string>" + esc_value(value) + "</string></value>"
    if isinstance(value, float):
        return "<value><double>%r</double></value>" % value
    raise TypeError("cannot encode %r" % (value,))


def encode_array_response(items):
    """A methodResponse whose single param is an array; one element per line
    as oned writes it."""
    lines = [_HEAD, "<params>\r\n<param><value><array><data>\r\n"]
    for item in items:
        lines.append(_value_xml(item))
        lines.append("\r\n")
    lines.append("</data></array></value></param>\r\n</params>\r\n</methodResponse>\r\n")
    return "".join(lines).encode("utf-8")


def encode_fault(code, message):
    text = (_HEAD + "<fault>\r\n<value><struct>\r\n"
            "<member><name>faultCode</name>\r\n<value><i4>%d</i4></value></member>\r\n"
            "<member><name>faultString</name>\r\n<value><string>%s</string></value></member>\r\n"
            "</struct></value>\r\n</fault>\r\n</methodResponse>\r\n") % (code, esc(message))
    return text.encode("utf-8")


def encode_success(value):
    return encode_array_response([True, value, 0])


def encode_failure(message, code, resp_id, version):
    """Failure envelope for the emulated version (3, 4 or 5 elements)."""
    items = [False, message, code]
    n = version.failure_elements
    if n >= 4:
        items.append(resp_id)
    if n >= 5:
        items.append(I8(-1))
    return encode_array_response(items)
