/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XML-RPC requests and responses, and oned's result envelope. Responses are
 * parsed into a small value tree with libxml2 (hardened in vmh_xml_parse());
 * requests are written directly with strict escaping.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "str.h"
#include "xmlrpc.h"

/* ---- Hardened parsing */

struct xml_state {
	int have_error;
	int line;
	int doctype;
	char msg[200];
};

#if LIBXML_VERSION >= 21200
static void
xml_error_cb(void *data, const xmlError *e)
#else
static void
xml_error_cb(void *data, xmlErrorPtr e)
#endif
{
	struct xml_state *st = data;
	size_t n;

	/* Keep the first error: later ones are usually consequences. */
	if (st == NULL || st->have_error || e == NULL ||
	    e->level == XML_ERR_WARNING)
		return;
	st->have_error = 1;
	st->line = e->line;
	vmh_strlcpy(st->msg, e->message != NULL ? e->message : "parse error",
		    sizeof(st->msg));
	n = strlen(st->msg);
	while (n > 0 && isspace((unsigned char)st->msg[n - 1]))
		st->msg[--n] = '\0';
}

/* A DOCTYPE is never part of what oned sends, and refusing it outright
 * removes entity tricks before any declaration is read. */
static void
xml_doctype_cb(void *ctx, const xmlChar *name, const xmlChar *ext_id,
	       const xmlChar *sys_id)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct xml_state *st = ctxt->_private;

	(void)name;
	(void)ext_id;
	(void)sys_id;
	st->doctype = 1;
	xmlStopParser(ctxt);
}

enum vmh_rc
vmh_xml_parse(const char *data, size_t len, const char *what, int huge,
	      struct _xmlDoc **out, struct vmh_error *err)
{
	xmlStructuredErrorFunc old_fn;
	void *old_ctx;
	xmlParserCtxtPtr ctxt = NULL;
	struct xml_state st;
	xmlDocPtr doc = NULL;
	int options = XML_PARSE_NONET | XML_PARSE_NOERROR |
		      XML_PARSE_NOWARNING | (huge ? XML_PARSE_HUGE : 0);
	enum vmh_rc rc = VMH_OK;

	*out = NULL;
	if (len > VMH_XML_MAX_SIZE || len > INT_MAX)
		return vmh_error_set(err, VMH_E_TOOBIG, what, 0,
				     "XML document of %zu bytes is too large",
				     len);
	if (len == 0)
		return vmh_error_set(err, VMH_E_DATA, what, 0,
				     "empty XML document");
	memset(&st, 0, sizeof(st));
	xmlInitParser();
	if ((ctxt = xmlNewParserCtxt()) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	ctxt->_private = &st;
	ctxt->sax->internalSubset = xml_doctype_cb;
	/* Route every libxml2 message (the parser's and those raised without
	 * a context, e.g. encoding errors) to st, never to stderr. */
	old_fn = xmlStructuredError;
	old_ctx = xmlStructuredErrorContext;
	xmlSetStructuredErrorFunc(&st, xml_error_cb);
	doc = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, NULL, options);
	xmlSetStructuredErrorFunc(old_ctx, old_fn);
	if (st.doctype) {
		rc = vmh_error_set(err, VMH_E_DATA, what, 0,
				   "XML with a DOCTYPE is not accepted");
		goto done;
	}
	if (doc == NULL || !ctxt->wellFormed || st.have_error ||
	    xmlDocGetRootElement(doc) == NULL) {
		if (st.have_error && st.line > 0)
			rc = vmh_error_set(err, VMH_E_DATA, what, 0,
					   "malformed XML: line %d: %s",
					   st.line, st.msg);
		else
			rc = vmh_error_set(
			    err, VMH_E_DATA, what, 0, "malformed XML: %s",
			    st.have_error ? st.msg : "no document");
		goto done;
	}
	*out = doc;
	doc = NULL;
done:
	/* A partial tree is never used. */
	if (doc != NULL)
		xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return rc;
}

/* ---- Requests */

/* Length of the UTF-8 sequence at s (of at most n bytes) encoding a
 * character XML 1.0 allows, or 0. */
static size_t
xml_char_len(const unsigned char *s, size_t n)
{
	unsigned long c;
	size_t len, i;

	if (s[0] < 0x80) {
		if (s[0] < 0x20 && s[0] != '\t' && s[0] != '\n' && s[0] != '\r')
			return 0;
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, non-characters XML excludes, > max. */
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c == 0xfffe || c == 0xffff ||
	    c > 0x10ffff)
		return 0;
	return len;
}

static enum vmh_rc
put_escaped(struct vmh_buf *b, const char *s, size_t *bad)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k;
	enum vmh_rc rc = VMH_OK;

	while (i < n && rc == VMH_OK) {
		if ((k = xml_char_len(p + i, n - i)) == 0) {
			*bad = i;
			return VMH_E_DATA;
		}
		switch (p[i]) {
		case '&':
			rc = vmh_buf_puts(b, "&amp;");
			break;
		case '<':
			rc = vmh_buf_puts(b, "&lt;");
			break;
		case '>':
			rc = vmh_buf_puts(b, "&gt;");
			break;
		case '\r':
			/* A literal CR would be normalised away by the
			 * server's parser. */
			rc = vmh_buf_puts(b, "&#13;");
			break;
		default:
			rc = vmh_buf_append(b, p + i, k);
		}
		i += k;
	}
	return rc;
}

static int
method_name_ok(const char *m)
{
	size_t i;

	for (i = 0; m[i] != '\0'; i++)
		if (!isalnum((unsigned char)m[i]) && m[i] != '.' &&
		    m[i] != '_' && m[i] != '-' && m[i] != ':' && m[i] != '/')
			return 0;
	return i > 0 && i < 128;
}

enum vmh_rc
vmh_xmlrpc_request(struct vmh_buf *out, const char *method,
		   const struct vmh_xmlrpc_param *params, size_t n,
		   struct vmh_error *err)
{
	enum vmh_rc rc;
	size_t i, bad = 0;

	if (method == NULL || !method_name_ok(method))
		return vmh_error_set(err, VMH_E_INTERNAL, NULL, 0,
				     "XML-RPC: bad method name");
	rc = vmh_buf_printf(out,
			    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			    "<methodCall><methodName>%s</methodName>"
			    "<params>",
			    method);
	for (i = 0; i < n && rc == VMH_OK; i++) {
		const struct vmh_xmlrpc_param *p = &params[i];

		rc = vmh_buf_puts(out, "<param><value>");
		if (rc != VMH_OK)
			break;
		switch (p->type) {
		case VMH_XMLRPC_BOOL:
			rc = vmh_buf_printf(out, "<boolean>%d</boolean>",
					    p->i != 0);
			break;
		case VMH_XMLRPC_INT:
			if (p->i >= INT32_MIN && p->i <= INT32_MAX)
				rc = vmh_buf_printf(out, "<int>%lld</int>",
						    p->i);
			else
				rc = vmh_buf_printf(out, "<i8>%lld</i8>", p->i);
			break;
		case VMH_XMLRPC_STRING:
			if ((rc = vmh_buf_puts(out, "<string>")) != VMH_OK)
				break;
			rc = put_escaped(out, p->s != NULL ? p->s : "", &bad);
			if (rc == VMH_E_DATA)
				return vmh_error_set(
				    err, VMH_E_DATA, method, 0,
				    "parameter %zu: byte %zu is not a "
				    "character XML can carry (control "
				    "character or invalid UTF-8)",
				    i + 1, bad);
			if (rc == VMH_OK)
				rc = vmh_buf_puts(out, "</string>");
			break;
		default:
			return vmh_error_set(err, VMH_E_INTERNAL, method, 0,
					     "XML-RPC: parameter %zu has an "
					     "unsupported type",
					     i + 1);
		}
		if (rc == VMH_OK)
			rc = vmh_buf_puts(out, "</value></param>");
	}
	if (rc == VMH_OK)
		rc = vmh_buf_puts(out, "</params></methodCall>\n");
	if (rc == VMH_E_TOOBIG)
		return vmh_error_set(err, rc, method, 0,
				     "XML-RPC request too large");
	if (rc != VMH_OK)
		return vmh_error_set(err, rc, NULL, 0, "out of memory");
	return VMH_OK;
}

/* ---- Responses */

static void
value_clear(struct vmh_xmlrpc_value *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		value_clear(&v->items[i]);
	free(v->items);
	free(v->s);
	free(v->name);
	memset(v, 0, sizeof(*v));
}

void
vmh_xmlrpc_response_free(struct vmh_xmlrpc_response *r)
{
	if (r == NULL)
		return;
	value_clear(&r->value);
	free(r->fault_string);
	memset(r, 0, sizeof(*r));
}

/* The first element child of n at or after c, skipping text and comments. */
static xmlNodePtr
elem_from(xmlNodePtr c)
{
	while (c != NULL && c->type != XML_ELEMENT_NODE)
		c = c->next;
	return c;
}

static int
name_is(xmlNodePtr n, const char *name)
{
	return n != NULL && strcmp((const char *)n->name, name) == 0;
}

/* Text and CDATA of n, allocated; NULL only when out of memory. */
static char *
node_text(xmlNodePtr n, size_t *len)
{
	xmlChar *t = xmlNodeGetContent(n);
	char *s;

	if (t == NULL) {
		s = strdup("");
		*len = 0;
		return s;
	}
	*len = strlen((const char *)t);
	s = strdup((const char *)t);
	xmlFree(t);
	return s;
}

/* Non-whitespace text directly inside n (outside its child elements)? */
static int
has_loose_text(xmlNodePtr n)
{
	xmlNodePtr c;
	const xmlChar *p;

	for (c = n->children; c != NULL; c = c->next) {
		if (c->type == XML_CDATA_SECTION_NODE)
			return 1;
		if (c->type != XML_TEXT_NODE || c->content == NULL)
			continue;
		for (p = c->content; *p != '\0'; p++)
			if (!isspace(*p))
				return 1;
	}
	return 0;
}

static enum vmh_rc
parse_int(const char *s, long long *out)
{
	char *end;
	long long v;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return VMH_E_DATA;
	errno = 0;
	v = strtoll(s, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (errno != 0 || *end != '\0' || end == s)
		return VMH_E_DATA;
	*out = v;
	return VMH_OK;
}

static enum vmh_rc conv_value(xmlNodePtr value, struct vmh_xmlrpc_value *out,
			      int depth, const char *src,
			      struct vmh_error *err);

static enum vmh_rc
bad(struct vmh_error *err, const char *src, xmlNodePtr n, const char *what)
{
	return vmh_error_set(err, VMH_E_DATA, src, 0,
			     "bad XML-RPC response: line %ld: %s",
			     n != NULL ? (long)xmlGetLineNo(n) : 0L, what);
}

/* Grow v->items by one zeroed slot; returns it or NULL. */
static struct vmh_xmlrpc_value *
add_item(struct vmh_xmlrpc_value *v, size_t *cap)
{
	struct vmh_xmlrpc_value *tmp;

	if (v->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;

		if ((tmp = realloc(v->items, ncap * sizeof(*tmp))) == NULL)
			return NULL;
		v->items = tmp;
		*cap = ncap;
	}
	memset(&v->items[v->n], 0, sizeof(v->items[0]));
	return &v->items[v->n++];
}

static enum vmh_rc
conv_array(xmlNodePtr t, struct vmh_xmlrpc_value *out, int depth,
	   const char *src, struct vmh_error *err)
{
	xmlNodePtr data = elem_from(t->children), c;
	struct vmh_xmlrpc_value *item;
	size_t cap = 0;
	enum vmh_rc rc;

	out->type = VMH_XMLRPC_ARRAY;
	if (data == NULL)
		return VMH_OK; /* <array/>: lenient, as some servers write */
	if (!name_is(data, "data") || elem_from(data->next) != NULL)
		return bad(err, src, data, "<array> must hold one <data>");
	for (c = elem_from(data->children); c != NULL; c = elem_from(c->next)) {
		if (!name_is(c, "value"))
			return bad(err, src, c, "<data> may hold only <value>");
		if ((item = add_item(out, &cap)) == NULL)
			return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
					     "out of memory");
		if ((rc = conv_value(c, item, depth + 1, src, err)) != VMH_OK)
			return rc;
	}
	return VMH_OK;
}

static enum vmh_rc
conv_struct(xmlNodePtr t, struct vmh_xmlrpc_value *out, int depth,
	    const char *src, struct vmh_error *err)
{
	xmlNodePtr m, name, value;
	struct vmh_xmlrpc_value *item;
	size_t cap = 0, len;
	enum vmh_rc rc;

	out->type = VMH_XMLRPC_STRUCT;
	for (m = elem_from(t->children); m != NULL; m = elem_from(m->next)) {
		if (!name_is(m, "member"))
			return bad(err, src, m,
				   "<struct> may hold only <member>");
		name = elem_from(m->children);
		value = name != NULL ? elem_from(name->next) : NULL;
		if (!name_is(name, "name") || !name_is(value, "value") ||
		    elem_from(value->next) != NULL)
			return bad(err, src, m,
				   "<member> must hold <name> and <value>");
		if ((item = add_item(out, &cap)) == NULL ||
		    (item->name = node_text(name, &len)) == NULL)
			return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
					     "out of memory");
		if ((rc = conv_value(value, item, depth + 1, src, err)) !=
		    VMH_OK)
			return rc;
	}
	return VMH_OK;
}

static enum vmh_rc
conv_value(xmlNodePtr value, struct vmh_xmlrpc_value *out, int depth,
	   const char *src, struct vmh_error *err)
{
	xmlNodePtr t = elem_from(value->children);
	char *text = NULL, *end;
	size_t len;
	enum vmh_rc rc = VMH_OK;

	if (depth > VMH_XMLRPC_MAX_DEPTH)
		return bad(err, src, value, "values nested too deeply");
	if (t == NULL) {
		/* An untyped value is a string. */
		out->type = VMH_XMLRPC_STRING;
		if ((out->s = node_text(value, &out->len)) == NULL)
			goto nomem;
		return VMH_OK;
	}
	if (elem_from(t->next) != NULL || has_loose_text(value))
		return bad(err, src, value, "<value> must hold one value");
	if (name_is(t, "array"))
		return conv_array(t, out, depth, src, err);
	if (name_is(t, "struct"))
		return conv_struct(t, out, depth, src, err);
	if (elem_from(t->children) != NULL)
		return bad(err, src, t, "element inside a scalar value");
	if ((text = node_text(t, &len)) == NULL)
		goto nomem;
	if (name_is(t, "i4") || name_is(t, "int") || name_is(t, "i8")) {
		out->type = VMH_XMLRPC_INT;
		if (parse_int(text, &out->i) != VMH_OK)
			rc = bad(err, src, t, "bad integer");
	} else if (name_is(t, "boolean")) {
		out->type = VMH_XMLRPC_BOOL;
		if (parse_int(text, &out->i) != VMH_OK ||
		    (out->i != 0 && out->i != 1))
			rc = bad(err, src, t, "bad boolean");
	} else if (name_is(t, "double")) {
		out->type = VMH_XMLRPC_DOUBLE;
		errno = 0;
		out->d = strtod(text, &end);
		while (isspace((unsigned char)*end))
			end++;
		if (end == text || *end != '\0' || errno == ERANGE)
			rc = bad(err, src, t, "bad double");
	} else if (name_is(t, "string") || name_is(t, "base64") ||
		   name_is(t, "dateTime.iso8601")) {
		out->type = name_is(t, "string")   ? VMH_XMLRPC_STRING
			    : name_is(t, "base64") ? VMH_XMLRPC_BASE64
						   : VMH_XMLRPC_DATETIME;
		out->s = text;
		out->len = len;
		text = NULL;
	} else if (name_is(t, "nil")) {
		out->type = VMH_XMLRPC_NIL;
	} else {
		rc = bad(err, src, t, "unknown value type");
	}
	free(text);
	return rc;
nomem:
	free(text);
	return vmh_error_set(err, VMH_E_NOMEM, NULL, 0, "out of memory");
}

static enum vmh_rc
read_fault(struct vmh_xmlrpc_response *out, const char *src,
	   struct vmh_error *err)
{
	const struct vmh_xmlrpc_value *v = &out->value;
	size_t i;

	if (v->type != VMH_XMLRPC_STRUCT)
		return vmh_error_set(err, VMH_E_DATA, src, 0,
				     "bad XML-RPC fault: not a struct");
	for (i = 0; i < v->n; i++) {
		const struct vmh_xmlrpc_value *m = &v->items[i];

		if (strcmp(m->name, "faultCode") == 0 &&
		    m->type == VMH_XMLRPC_INT)
			out->fault_code = m->i;
		else if (strcmp(m->name, "faultString") == 0 &&
			 m->type == VMH_XMLRPC_STRING && m->s != NULL) {
			free(out->fault_string);
			if ((out->fault_string = strdup(m->s)) == NULL)
				return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
						     "out of memory");
		}
	}
	if (out->fault_string == NULL &&
	    (out->fault_string = strdup("")) == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, NULL, 0,
				     "out of memory");
	return VMH_OK;
}

enum vmh_rc
vmh_xmlrpc_parse_response(const char *data, size_t len, const char *source,
			  struct vmh_xmlrpc_response *out,
			  struct vmh_error *err)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root, body, param, value;
	enum vmh_rc rc;

	memset(out, 0, sizeof(*out));
	/* huge: oned puts whole pool documents in one <string>. */
	if ((rc = vmh_xml_parse(data, len, source, 1, &doc, err)) != VMH_OK)
		return rc;
	root = xmlDocGetRootElement(doc);
	body = elem_from(root->children);
	if (!name_is(root, "methodResponse")) {
		rc = bad(err, source, root, "root is not <methodResponse>");
		goto done;
	}
	if (body == NULL || elem_from(body->next) != NULL) {
		rc = bad(err, source, root,
			 "<methodResponse> must hold <params> or <fault>");
		goto done;
	}
	if (name_is(body, "fault")) {
		value = elem_from(body->children);
		if (!name_is(value, "value") ||
		    elem_from(value->next) != NULL) {
			rc = bad(err, source, body,
				 "<fault> must hold one <value>");
			goto done;
		}
		out->fault = 1;
		if ((rc = conv_value(value, &out->value, 0, source, err)) ==
		    VMH_OK)
			rc = read_fault(out, source, err);
		goto done;
	}
	if (!name_is(body, "params")) {
		rc = bad(err, source, body,
			 "<methodResponse> must hold <params> or <fault>");
		goto done;
	}
	param = elem_from(body->children);
	value = param != NULL ? elem_from(param->children) : NULL;
	if (!name_is(param, "param") || elem_from(param->next) != NULL ||
	    !name_is(value, "value") || elem_from(value->next) != NULL) {
		rc = bad(err, source, body,
			 "<params> must hold one <param> with one <value>");
		goto done;
	}
	rc = conv_value(value, &out->value, 0, source, err);
done:
	if (rc != VMH_OK) {
		vmh_xmlrpc_response_free(out);
		out->fault = 0;
	}
	xmlFreeDoc(doc);
	return rc;
}

/* ---- oned's envelope */

const char *
vmh_one_error_name(long long code)
{
	switch (code) {
	case 0:
		return "SUCCESS";
	case VMH_ONE_AUTHENTICATION:
		return "AUTHENTICATION";
	case VMH_ONE_AUTHORIZATION:
		return "AUTHORIZATION";
	case VMH_ONE_NO_EXISTS:
		return "NO_EXISTS";
	case VMH_ONE_ACTION:
		return "ACTION";
	case VMH_ONE_XML_RPC_API:
		return "XML_RPC_API";
	case VMH_ONE_INTERNAL:
		return "INTERNAL";
	case VMH_ONE_ALLOCATE:
		return "ALLOCATE";
	case VMH_ONE_LOCKED:
		return "LOCKED";
	case VMH_ONE_REPLICATION:
		return "REPLICATION";
	default:
		return "UNKNOWN";
	}
}

/* oned prefixes its messages with "[method] "; the error's source already
 * names the method. */
static const char *
strip_method_prefix(const char *msg)
{
	const char *p;

	if (msg[0] != '[' || (p = strstr(msg, "] ")) == NULL || p - msg > 64)
		return msg;
	return p + 2;
}

static int
is_int(const struct vmh_xmlrpc_value *v)
{
	return v->type == VMH_XMLRPC_INT;
}

enum vmh_rc
vmh_xmlrpc_one_result(const char *method,
		      const struct vmh_xmlrpc_response *resp,
		      struct vmh_one_result *res, struct vmh_error *err)
{
	const struct vmh_xmlrpc_value *v = &resp->value, *it;
	const char *msg, *what;
	enum vmh_rc rc;
	long long code;

	memset(res, 0, sizeof(*res));
	res->resp_id = -1;
	res->repl_idx = -1;
	if (resp->fault) {
		res->code = resp->fault_code;
		res->message = resp->fault_string;
		return vmh_error_set(err, VMH_E_API, method, 0,
				     "XML-RPC fault %lld: %s (the server "
				     "does not take this call as sent: "
				     "version mismatch?)",
				     resp->fault_code,
				     resp->fault_string ? resp->fault_string
							: "");
	}
	if (v->type != VMH_XMLRPC_ARRAY || v->n < 2 ||
	    (v->items[0].type != VMH_XMLRPC_BOOL && !is_int(&v->items[0])))
		return vmh_error_set(err, VMH_E_DATA, method, 0,
				     "bad answer: not oned's [status, "
				     "value, code] array");
	it = v->items;
	if (it[0].i != 0) {
		res->success = 1;
		res->value = &it[1];
		return VMH_OK;
	}
	res->message =
	    it[1].type == VMH_XMLRPC_STRING && it[1].s != NULL ? it[1].s : "";
	res->code = code = v->n >= 3 && is_int(&it[2]) ? it[2].i : 0;
	if (v->n >= 4 && is_int(&it[3]))
		res->resp_id = it[3].i;
	if (v->n >= 5 && is_int(&it[4]))
		res->repl_idx = it[4].i;
	msg = res->message;
	switch (code) {
	case VMH_ONE_AUTHENTICATION:
		rc = VMH_E_AUTH;
		what = "authentication failed, check the credentials "
		       "(ONE_AUTH, one_auth file or auth_secret)";
		break;
	case VMH_ONE_AUTHORIZATION:
		rc = VMH_E_DENIED;
		what = strcasestr(msg, "locked") != NULL
			   ? "the object is locked"
			   : "not authorized";
		break;
	case VMH_ONE_LOCKED:
		rc = VMH_E_DENIED;
		what = "the object is locked";
		break;
	case VMH_ONE_NO_EXISTS:
		rc = VMH_E_NOTFOUND;
		what = "no such object";
		break;
	case VMH_ONE_ACTION:
		rc = VMH_E_API;
		what = "refused in the object's current state";
		break;
	case VMH_ONE_XML_RPC_API:
		rc = VMH_E_API;
		what = "bad call parameters";
		break;
	case VMH_ONE_ALLOCATE:
		rc = VMH_E_API;
		what = "allocation failed";
		break;
	case VMH_ONE_INTERNAL:
		/* Raft: a follower without a leader, or a leader that cannot
		 * replicate, answers INTERNAL; that passes. */
		if (strcasestr(msg, "election") != NULL) {
			rc = VMH_E_UNAVAILABLE;
			what = "the oned cluster is electing a leader, try "
			       "again";
		} else if (strcasestr(msg, "replicat") != NULL) {
			rc = VMH_E_UNAVAILABLE;
			what = "the oned cluster is replicating, try again";
		} else {
			rc = VMH_E_API;
			what = "internal error in oned";
		}
		break;
	case VMH_ONE_REPLICATION:
		rc = VMH_E_UNAVAILABLE;
		what = "replication in the oned cluster failed, try again";
		break;
	default:
		rc = VMH_E_API;
		what = "failed";
		break;
	}
	return vmh_error_set(err, rc, method, 0, "%s (%s 0x%llx): %s", what,
			     vmh_one_error_name(code), (unsigned long long)code,
			     strip_method_prefix(msg));
}
