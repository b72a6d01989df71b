/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XML-RPC: building method calls, parsing method responses, and reading
 * oned's result envelope. Everything is parsed from memory with an explicit
 * length by libxml2 with network access off, no entity substitution, no
 * DOCTYPE at all, and libxml2's own messages routed into struct vmh_error
 * (nothing on stderr). No network access here: lib/http.h carries the bytes.
 */
#ifndef VMH_XMLRPC_H
#define VMH_XMLRPC_H

#include <stddef.h>

#include "buf.h"
#include "error.h"

/* Largest document parsed (oned's own MESSAGE_SIZE default is 1 GiB; the
 * HTTP layer applies the configured, smaller cap first). */
#define VMH_XML_MAX_SIZE ((size_t)1 << 30)
/* Deepest nesting of XML-RPC arrays and structs accepted. */
#define VMH_XMLRPC_MAX_DEPTH 32

enum vmh_xmlrpc_type {
	VMH_XMLRPC_NIL,
	VMH_XMLRPC_BOOL,     /* i: 0 or 1 */
	VMH_XMLRPC_INT,      /* i: from <int>, <i4> or <i8> */
	VMH_XMLRPC_DOUBLE,   /* d */
	VMH_XMLRPC_STRING,   /* s, len (may hold NULs only if sent escaped) */
	VMH_XMLRPC_BASE64,   /* s: the text as sent, not decoded */
	VMH_XMLRPC_DATETIME, /* s */
	VMH_XMLRPC_ARRAY,    /* items, n */
	VMH_XMLRPC_STRUCT,   /* items, n: each with name */
};

/* A parsed value; a tree for arrays and structs. */
struct vmh_xmlrpc_value {
	enum vmh_xmlrpc_type type;
	long long i;
	double d;
	char *s;
	size_t len;
	char *name; /* member name when inside a struct, else NULL */
	struct vmh_xmlrpc_value *items;
	size_t n;
};

/* A method call parameter (requests only need scalars). */
struct vmh_xmlrpc_param {
	enum vmh_xmlrpc_type type; /* BOOL, INT or STRING */
	long long i;
	const char *s;
};

#define VMH_XMLRPC_P_STR(v)                                                    \
	((struct vmh_xmlrpc_param){ .type = VMH_XMLRPC_STRING, .s = (v) })
#define VMH_XMLRPC_P_INT(v)                                                    \
	((struct vmh_xmlrpc_param){ .type = VMH_XMLRPC_INT, .i = (v) })
#define VMH_XMLRPC_P_BOOL(v)                                                   \
	((struct vmh_xmlrpc_param){ .type = VMH_XMLRPC_BOOL, .i = !!(v) })

/*
 * Append a <methodCall> to out. Integers in the 32-bit range are sent as
 * <int>, others as <i8>. Strings are escaped (CR as a character reference,
 * so it survives); a string with a control character XML cannot carry, or
 * invalid UTF-8, is refused with VMH_E_DATA naming the parameter.
 */
enum vmh_rc vmh_xmlrpc_request(struct vmh_buf *out, const char *method,
			       const struct vmh_xmlrpc_param *params, size_t n,
			       struct vmh_error *err);

/* A parsed <methodResponse>: the single param, or a fault. */
struct vmh_xmlrpc_response {
	int fault; /* 1: <fault>; fault_code and fault_string are set */
	long long fault_code;
	char *fault_string;
	struct vmh_xmlrpc_value value; /* the param, or the fault struct */
};

/*
 * Parse a method response. VMH_E_DATA for anything that is not a
 * well-formed, complete <methodResponse> (truncated, not XML, DOCTYPE,
 * unknown value types, nesting deeper than VMH_XMLRPC_MAX_DEPTH),
 * VMH_E_TOOBIG past VMH_XML_MAX_SIZE. source names the call in messages.
 * out is always initialised; free it with vmh_xmlrpc_response_free().
 */
enum vmh_rc vmh_xmlrpc_parse_response(const char *data, size_t len,
				      const char *source,
				      struct vmh_xmlrpc_response *out,
				      struct vmh_error *err);
void vmh_xmlrpc_response_free(struct vmh_xmlrpc_response *r);

/*
 * oned's result envelope, of every generation:
 *   [true, value, 0]                                    success
 *   [false, msg, code]                                  failure, <= 5.2
 *   [false, msg, code, resp_id]                         5.4 - 5.8
 *   [false, msg, code, resp_id, <i8> replication idx]   5.10+
 * Integers as <int>, <i4> or <i8>.
 */
struct vmh_one_result {
	int success;
	const struct vmh_xmlrpc_value *value; /* on success; into response */
	long long code;                       /* ONE error code, 0 on success */
	long long resp_id;                    /* -1 when absent */
	long long repl_idx;                   /* -1 when absent */
	const char *message;                  /* on failure; into response */
};

/* ONE error codes (include/Request.h). */
#define VMH_ONE_AUTHENTICATION 0x0100
#define VMH_ONE_AUTHORIZATION  0x0200
#define VMH_ONE_NO_EXISTS      0x0400
#define VMH_ONE_ACTION         0x0800
#define VMH_ONE_XML_RPC_API    0x1000
#define VMH_ONE_INTERNAL       0x2000
#define VMH_ONE_ALLOCATE       0x4000
#define VMH_ONE_LOCKED         0x8000
#define VMH_ONE_REPLICATION    0x10000

/*
 * Read oned's envelope from a parsed response for method. VMH_OK when oned
 * answered success (res->value is its value); otherwise one clear message
 * naming the method, and:
 *   AUTHENTICATION            VMH_E_AUTH
 *   AUTHORIZATION, LOCKED     VMH_E_DENIED ("locked" said when it is)
 *   NO_EXISTS                 VMH_E_NOTFOUND
 *   ACTION, XML_RPC_API,
 *   ALLOCATE, unknown codes   VMH_E_API
 *   INTERNAL                  VMH_E_UNAVAILABLE when oned is in election
 *                             or replicating, VMH_E_API otherwise
 *   REPLICATION               VMH_E_UNAVAILABLE
 *   a <fault>                 VMH_E_API (a type error: client and server
 *                             disagree on the method's signature)
 *   not an envelope           VMH_E_DATA
 * res is filled in every case where the envelope could be read.
 */
enum vmh_rc vmh_xmlrpc_one_result(const char *method,
				  const struct vmh_xmlrpc_response *resp,
				  struct vmh_one_result *res,
				  struct vmh_error *err);

/* "AUTHORIZATION" for 0x200, "UNKNOWN" for codes oned does not define. */
const char *vmh_one_error_name(long long code);

/*
 * The shared hardened libxml2 entry point (also for the documents inside
 * XML-RPC strings): parse len bytes into *doc, or fail with VMH_E_DATA
 * ("what: line N: libxml2's message") and *doc NULL. huge allows single
 * text nodes over libxml2's 10 MB default (XML-RPC strings that carry
 * large pools). Free with xmlFreeDoc().
 */
struct _xmlDoc;
enum vmh_rc vmh_xml_parse(const char *data, size_t len, const char *what,
			  int huge, struct _xmlDoc **doc,
			  struct vmh_error *err);

#endif
