/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: an XML-RPC method response as oned would send it. The
 * bytes go through the response parser and oned's envelope; a string value
 * then goes through every document parser (HOST, VM and their pools,
 * DATASTORE_POOL, the system configuration), as does the raw input itself.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cloud_one.h"
#include "xmlrpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
documents(const char *xml, size_t len)
{
	struct vmh_host host;
	struct vmh_host_list hosts;
	struct vmh_vm vm;
	struct vmh_vm_list vms = { NULL, 0 };
	long long *ids;
	int *shared, seconds;
	size_t n;

	if (vmh_one_parse_host(xml, len, &host, NULL) == VMH_OK)
		vmh_host_clear(&host);
	if (vmh_one_parse_host_pool(xml, len, &hosts, NULL) == VMH_OK)
		vmh_host_list_free(&hosts);
	if (vmh_one_parse_vm(xml, len, &vm, NULL) == VMH_OK)
		vmh_vm_clear(&vm);
	vmh_one_parse_vm_pool(xml, len, &vms, NULL);
	vmh_vm_list_free(&vms);
	if (vmh_one_parse_datastore_pool(xml, len, &ids, &shared, &n, NULL) ==
	    VMH_OK) {
		free(ids);
		free(shared);
	}
	vmh_one_parse_monitoring_interval(xml, len, &seconds, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmh_xmlrpc_response resp;
	struct vmh_one_result res;
	struct vmh_error err;

	vmh_error_init(&err);
	if (vmh_xmlrpc_parse_response((const char *)data, size, "fuzz", &resp,
				      &err) == VMH_OK) {
		vmh_error_init(&err);
		if (vmh_xmlrpc_one_result("one.fuzz", &resp, &res, &err) ==
			VMH_OK &&
		    res.value->type == VMH_XMLRPC_STRING)
			documents(res.value->s, res.value->len);
	}
	vmh_xmlrpc_response_free(&resp);
	documents((const char *)data, size);
	return 0;
}
