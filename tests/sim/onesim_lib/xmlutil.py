"""XML helpers and the OpenNebula template syntax.

Templates are kept as ordered lists of (NAME, value) pairs where value is a
string (single attribute) or a list of (NAME, string) pairs (vector
attribute, e.g. DISK = [ IMAGE_ID = 1 ]).  oned keeps template attributes in
a name-sorted multimap, so rendering sorts by name and keeps the insertion
order of repeated names.
"""

import re
import xml.etree.ElementTree as ET


class XMLError(ValueError):
    pass


_ESC = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def esc(text):
    """Escape character data (also safe inside attribute-free elements)."""
    return str(text).translate(_ESC)


def cdata(text):
    """CDATA section as oned writes template values; a literal ']]>' inside
    the value is split across two sections so the document stays valid."""
    text = str(text)
    if "]]>" in text:
        text = text.replace("]]>", "]]]]><![CDATA[>")
    return "<![CDATA[" + text + "]]>"


_FORBIDDEN = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def safe_fromstring(data):
    """Parse untrusted XML.  DOCTYPE and ENTITY declarations are refused
    outright: no entity expansion, no external references."""
    if isinstance(data, str):
        raw = data.encode("utf-8")
    else:
        raw = data
    if _FORBIDDEN.search(raw):
        raise XMLError("DOCTYPE/ENTITY declarations are not accepted")
    try:
        return ET.fromstring(raw)
    except ET.ParseError as exc:
        raise XMLError("malformed XML: %s" % exc) from None


# --------------------------------------------------------------------------
# Template text syntax (oned.conf blocks, onehook templates, one.vm.update)
# --------------------------------------------------------------------------

class TemplateSyntaxError(ValueError):
    pass


class _Lexer:
    def __init__(self, text):
        self.text = text
        self.pos = 0

    def skip_space(self, newlines=True):
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "#":
                nl = text.find("\n", self.pos)
                self.pos = len(text) if nl < 0 else nl
            elif ch in " \t\r" or (newlines and ch == "\n"):
                self.pos += 1
            else:
                break

    def peek(self):
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def error(self, msg):
        line = self.text.count("\n", 0, self.pos) + 1
        raise TemplateSyntaxError("line %d: %s" % (line, msg))

    def name(self):
        self.skip_space()
        m = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*").match(self.text, self.pos)
        if not m:
            self.error("attribute name expected")
        self.pos = m.end()
        return m.group(0).upper()

    def expect(self, ch):
        self.skip_space()
        if self.peek() != ch:
            self.error("%r expected" % ch)
        self.pos += 1

    def quoted(self):
        # pos at the opening quote; backslash escapes the next character
        self.pos += 1
        out = []
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\\" and self.pos + 1 < len(text):
                out.append(text[self.pos + 1])
                self.pos += 2
            elif ch == '"':
                self.pos += 1
                return "".join(out)
            else:
                out.append(ch)
                self.pos += 1
        self.error("unterminated string")

    def bare(self, stop):
        start = self.pos
        text = self.text
        while self.pos < len(text) and text[self.pos] not in stop:
            self.pos += 1
        return text[start:self.pos].strip()

    def value(self, in_vector):
        self.skip_space(newlines=in_vector)
        if self.peek() == '"':
            return self.quoted()
        return self.bare(",]\n" if in_vector else "\n")


def parse_template(text):
    """Parse OpenNebula template text into [(NAME, value), ...]."""
    lex = _Lexer(text)
    attrs = []
    while True:
        lex.skip_space()
        if lex.pos >= len(lex.text):
            return attrs
        name = lex.name()
        lex.expect("=")
        lex.skip_space(newlines=False)
        if lex.peek() == "[":
            lex.pos += 1
            vector = []
            while True:
                lex.skip_space()
                if lex.peek() == "]":
                    lex.pos += 1
                    break
                key = lex.name()
                lex.expect("=")
                vector.append((key, lex.value(in_vector=True)))
                lex.skip_space()
                if lex.peek() == ",":
                    lex.pos += 1
                elif lex.peek() == "]":
                    continue
                else:
                    lex.error("',' or ']' expected")
            attrs.append((name, vector))
        else:
            attrs.append((name, lex.value(in_vector=False)))


def parse_template_xml(text):
    """<TEMPLATE><A>v</A><V><B>w</B></V></TEMPLATE> -> [(A, v), (V, [(B, w)])]."""
    root = safe_fromstring(text)
    attrs = []
    for child in root:
        name = child.tag.upper()
        if len(child):
            attrs.append((name, [(sub.tag.upper(), (sub.text or "").strip())
                                 for sub in child]))
        else:
            attrs.append((name, (child.text or "").strip()))
    return attrs


def parse_str_or_xml(text):
    """What oned's Template::parse_str_or_xml accepts."""
    if text.lstrip().startswith("<"):
        return parse_template_xml(text)
    return parse_template(text)


def template_get(attrs, name, default=None):
    name = name.upper()
    for key, value in attrs:
        if key == name:
            return value
    return default


def template_set(attrs, name, value):
    """Replace every NAME attribute with one (keeps list order otherwise)."""
    name = name.upper()
    out = [(k, v) for k, v in attrs if k != name]
    out.append((name, value))
    attrs[:] = out


def template_remove(attrs, name):
    name = name.upper()
    attrs[:] = [(k, v) for k, v in attrs if k != name]


def template_merge(attrs, new):
    """oned's merge: attributes in `new` replace same-named ones."""
    names = {k for k, _ in new}
    kept = [(k, v) for k, v in attrs if k not in names]
    attrs[:] = kept + list(new)


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def _attr_name(key):
    key = str(key)
    if not _NAME.match(key):
        raise ValueError("invalid template attribute name %r" % key)
    return key.upper()


def template_from_mapping(mapping):
    """Scenario JSON {"KEY": "v", "VEC": {"A": 1}} -> template list."""
    if mapping is not None and not isinstance(mapping, dict):
        raise ValueError("a template must be a JSON object")
    attrs = []
    for key, value in (mapping or {}).items():
        _attr_name(key)
        if isinstance(value, dict):
            attrs.append((_attr_name(key),
                          [(_attr_name(k), _scalar(v)) for k, v in value.items()]))
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    attrs.append((_attr_name(key),
                                  [(_attr_name(k), _scalar(v)) for k, v in item.items()]))
                else:
                    attrs.append((str(key).upper(), _scalar(item)))
        else:
            attrs.append((str(key).upper(), _scalar(value)))
    return attrs


def template_to_mapping(attrs):
    """Template list -> JSON-friendly dict; repeated names become lists."""
    grouped = {}
    for key, value in attrs:
        if isinstance(value, list):
            value = dict(value)
        grouped.setdefault(key, []).append(value)
    return {k: (v[0] if len(v) == 1 else v) for k, v in grouped.items()}


def _scalar(value):
    if isinstance(value, bool):
        return "YES" if value else "NO"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def template_to_xml(attrs, root, use_cdata=True, empty_self_closing=False):
    """Render a template the way oned does (sorted names, CDATA values)."""
    if not attrs and empty_self_closing:
        return "<%s/>" % root
    parts = ["<", root, ">"]
    wrap = cdata if use_cdata else esc
    for name, value in sorted(attrs, key=lambda kv: kv[0]):
        if isinstance(value, list):
            parts.append("<%s>" % name)
            for sub, subval in sorted(value, key=lambda kv: kv[0]):
                parts.append("<%s>%s</%s>" % (sub, wrap(subval), sub))
            parts.append("</%s>" % name)
        else:
            parts.append("<%s>%s</%s>" % (name, wrap(value), name))
    parts.append("</%s>" % root)
    return "".join(parts)
