/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * net_fence's logic: the configuration section (with file:line errors), the
 * matrix, the hysteresis state machine over simulated rounds (a flap shorter
 * than fail_rounds never acts), the incident/action bookkeeping, the state
 * file (round trip, corruption, crash left-overs), the lock, and whole
 * rounds with real actions inside a private network namespace whose
 * loopback is down (root only).
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include "conf.h"
#include "netfence.h"
#include "str.h"
#include "testutil.h"

static char *dir;

static void
setup(void)
{
	dir = tu_mkdtemp();
}

static void
teardown(void)
{
	tu_rmdir(dir);
}

/* Load "state_dir = DIR; net_fence = { SECTION };"; msg gets the error. */
static enum vmh_rc
load(const char *section, struct vmh_conf **conf, char *msg, size_t len)
{
	char *text, *path;
	struct vmh_error err;
	enum vmh_rc rc;

	ck_assert(asprintf(&text,
			   "state_dir = \"%s/state\";\nnet_fence = {\n%s\n};\n",
			   dir, section) > 0);
	path = tu_write(dir, "vmheal.conf", text, 0644);
	vmh_error_init(&err);
	*conf = NULL;
	rc = vmh_conf_load(path, conf, &err);
	vmh_error_format(&err, msg, len);
	free(path);
	free(text);
	return rc;
}

static const char three_networks[] =
    "networks = (\n"
    "  { name = \"management\"; targets = ( \"192.0.2.1\" ); },\n"
    "  { name = \"storage\"; targets = ( \"192.0.2.2\" ); },\n"
    "  { name = \"tenant\"; targets = ( \"2001:db8::3\" ); }\n"
    ");\n";

/* ---- configuration ------------------------------------------------------ */

START_TEST(conf_defaults)
{
	struct vmh_conf *c;
	const struct vmh_netfence_conf *nf;
	char msg[800];

	ck_assert_int_eq(load(three_networks, &c, msg, sizeof(msg)), VMH_OK);
	nf = c->netfence;
	ck_assert_ptr_nonnull(nf);
	ck_assert_uint_eq(nf->n_networks, 3);
	ck_assert_int_eq(nf->fail_rounds, VMH_NF_DEFAULT_FAIL_ROUNDS);
	ck_assert_int_eq(nf->recover_rounds, VMH_NF_DEFAULT_RECOVER_ROUNDS);
	ck_assert_int_eq(nf->round_timeout_ms, VMH_NF_DEFAULT_ROUND_TIMEOUT);
	ck_assert_int_eq(nf->interval_s, VMH_NF_DEFAULT_INTERVAL);
	ck_assert_int_eq(nf->icmp_mode, VMH_ICMP_AUTO);
	ck_assert_int_eq(nf->networks[0].min_up, 1);
	ck_assert_int_eq(nf->networks[2].fail_rounds, 3);
	ck_assert_int_eq(nf->networks[2].targets[0].probe, VMH_NF_PROBE_ICMP);
	ck_assert_int_eq(nf->networks[2].targets[0].addr.ss_family, AF_INET6);
	/* The safe default: storage lost -> fence-self, rest -> alert. */
	ck_assert_int_eq(nf->rules_builtin, 1);
	ck_assert_uint_eq(nf->n_rules, 1);
	ck_assert_uint_eq(nf->rules[0].down_mask, 1u << 1);
	ck_assert_int_eq(nf->rules[0].action, VMH_NF_FENCE_SELF);
	ck_assert_int_eq(nf->default_action, VMH_NF_ALERT);
	/* Built-in commands. */
	ck_assert_str_eq(nf->fence_self_cmd[0], "poweroff");
	ck_assert_str_eq(nf->list_vms_cmd[0], "virsh");
	ck_assert_str_eq(nf->stop_vm_cmd[4], VMH_NF_VM_PLACEHOLDER);
	ck_assert_ptr_null(nf->stop_vms_cmd);
	ck_assert_ptr_null(nf->alert_cmd);
	ck_assert_int_eq(nf->sysrq_fallback, 0);
	ck_assert_str_eq(nf->sysrq_trigger, "/proc/sysrq-trigger");
	ck_assert_ptr_null(nf->watchdog_device);
	vmh_conf_free(c);
}
END_TEST

START_TEST(conf_full)
{
	struct vmh_conf *c;
	const struct vmh_netfence_conf *nf;
	char msg[800];

	ck_assert_int_eq(
	    load(
		"interval = 5; round_timeout = 300; icmp_count = 2;\n"
		"icmp_socket = \"ping\"; fail_rounds = 4; recover_rounds = 3;\n"
		"default_action = \"none\";\n"
		"watchdog_device = \"/dev/watchdog\"; watchdog_timeout = 60;\n"
		"networks = (\n"
		"  { name = \"mgmt\"; interface = \"eth0\"; min_up = 2;\n"
		"    fail_rounds = 6;\n"
		"    targets = ( \"192.0.2.1\",\n"
		"      { address = \"192.0.2.2\"; port = 22; },\n"
		"      { address = \"fe80::1%lo\"; port = 22; probe = "
		"\"both\"; },\n"
		"      { address = \"192.0.2.4\"; port = 80; probe = "
		"\"either\"; },\n"
		"      { address = \"192.0.2.5\"; probe = \"icmp\"; } ); },\n"
		"  { name = \"san\"; recover_rounds = 1; targets = ( "
		"\"192.0.2.9\" ); }\n"
		");\n"
		"matrix = (\n"
		"  { down = [ \"san\" ]; action = \"fence-self\"; },\n"
		"  { down = [ \"mgmt\" ]; up = [ \"san\" ]; action = "
		"\"stop-vms\"; }\n"
		");\n"
		"actions = {\n"
		"  alert = [ \"/usr/local/bin/notify\", \"net\" ];\n"
		"  stop_vms = [ \"/usr/local/sbin/stop-all\" ];\n"
		"  fence_self = [ \"/sbin/poweroff\", \"-f\" ];\n"
		"  sysrq_fallback = \"b\"; timeout = 7;\n"
		"};\n",
		&c, msg, sizeof(msg)),
	    VMH_OK);
	nf = c->netfence;
	ck_assert_int_eq(nf->interval_s, 5);
	ck_assert_int_eq(nf->round_timeout_ms, 300);
	ck_assert_int_eq(nf->icmp_count, 2);
	ck_assert_int_eq(nf->icmp_mode, VMH_ICMP_PING);
	ck_assert_int_eq(nf->default_action, VMH_NF_NONE);
	ck_assert_str_eq(nf->watchdog_device, "/dev/watchdog");
	ck_assert_int_eq(nf->watchdog_timeout_s, 60);
	ck_assert_str_eq(nf->networks[0].interface, "eth0");
	ck_assert_int_eq(nf->networks[0].min_up, 2);
	ck_assert_int_eq(nf->networks[0].fail_rounds, 6);
	ck_assert_int_eq(nf->networks[0].recover_rounds, 3);
	ck_assert_int_eq(nf->networks[1].fail_rounds, 4);
	ck_assert_int_eq(nf->networks[1].recover_rounds, 1);
	ck_assert_uint_eq(nf->networks[0].n_targets, 5);
	ck_assert_int_eq(nf->networks[0].targets[1].probe, VMH_NF_PROBE_TCP);
	ck_assert_int_eq(nf->networks[0].targets[1].port, 22);
	ck_assert_int_eq(nf->networks[0].targets[2].probe, VMH_NF_PROBE_BOTH);
	ck_assert_int_eq(nf->networks[0].targets[3].probe, VMH_NF_PROBE_EITHER);
	ck_assert_int_eq(nf->networks[0].targets[4].probe, VMH_NF_PROBE_ICMP);
	ck_assert_int_eq(nf->rules_builtin, 0);
	ck_assert_uint_eq(nf->n_rules, 2);
	ck_assert_uint_eq(nf->rules[1].down_mask, 1);
	ck_assert_uint_eq(nf->rules[1].up_mask, 2);
	ck_assert_int_eq(nf->rules[1].action, VMH_NF_STOP_VMS);
	ck_assert_int_gt(nf->rules[1].line, 0);
	ck_assert_str_eq(nf->alert_cmd[1], "net");
	ck_assert_str_eq(nf->stop_vms_cmd[0], "/usr/local/sbin/stop-all");
	ck_assert_ptr_null(nf->list_vms_cmd); /* stop_vms replaces them */
	ck_assert_ptr_null(nf->stop_vm_cmd);
	ck_assert_str_eq(nf->fence_self_cmd[1], "-f");
	ck_assert_int_eq(nf->sysrq_fallback, 'b');
	ck_assert_int_eq(nf->action_timeout_s, 7);
	vmh_conf_free(c);
}
END_TEST

/* Every bad configuration is refused with the file, the line and a reason. */
static const struct {
	const char *section;
	int line; /* of the whole file: the section starts on line 3 */
	const char *msg;
} bad[] = {
	{ "bogus = 1;", 3, "unknown setting 'net_fence.bogus'" },
	{ "interval = 5;", 2, "networks are missing" },
	{ "networks = ();", 3, "between 1 and 8 networks" },
	{ "networks = ( { name = \"a b\"; targets = ( \"192.0.2.1\" ); } );", 3,
	  "network name \"a b\"" },
	{ "networks = ( { targets = ( \"192.0.2.1\" ); } );", 3,
	  "name is missing" },
	{ "networks = ( { name = \"x\"; } );", 3, "targets are missing" },
	{ "networks = ( { name = \"x\"; targets = (); } );", 3,
	  "between 1 and 32 targets" },
	{ "networks = ( { name = \"x\"; targets = ( \"192.0.2.1\" ); },\n"
	  "  { name = \"x\"; targets = ( \"192.0.2.2\" ); } );",
	  4, "defined twice" },
	{ "networks = ( { name = \"x\";\n targets = ( \"nas.example\" ); } );",
	  4, "host names are refused" },
	{ "networks = ( { name = \"x\";\n targets = ( \"10.1.2\" ); } );", 4,
	  "not a numeric IPv4 or IPv6 address" },
	{ "networks = ( { name = \"x\"; targets = (\n"
	  "  { address = \"192.0.2.1\"; port = 22; probe = \"icmp\"; } ); } );",
	  4, "port given but probe is \"icmp\"" },
	{ "networks = ( { name = \"x\"; targets = (\n"
	  "  { address = \"192.0.2.1\"; probe = \"tcp\"; } ); } );",
	  4, "probe \"tcp\" needs a port" },
	{ "networks = ( { name = \"x\"; targets = (\n"
	  "  { address = \"192.0.2.1\"; port = 70000; } ); } );",
	  4, "out of range 1..65535" },
	{ "networks = ( { name = \"x\"; targets = ( { port = 22; } ); } );", 3,
	  "address is missing" },
	{ "networks = ( { name = \"x\"; targets = ( 42 ); } );", 3,
	  "a target is an address" },
	{ "networks = ( { name = \"x\"; min_up = 2;\n"
	  "  targets = ( \"192.0.2.1\" ); } );",
	  3, "min_up: 2 is out of range 1..1" },
	{ "fail_rounds = 1;\n"
	  "networks = ( { name = \"x\"; targets = ( \"192.0.2.1\" ); } );",
	  3, "fail_rounds: 1 is out of range 2..1000" },
	{ "round_timeout = 10;\n"
	  "networks = ( { name = \"x\"; targets = ( \"192.0.2.1\" ); } );",
	  3, "out of range 50..60000" },
	{ "icmp_socket = \"magic\";\n"
	  "networks = ( { name = \"x\"; targets = ( \"192.0.2.1\" ); } );",
	  3, "is not one of \"auto\", \"ping\", \"raw\"" },
	{ "networks = ( { name = \"x\"; targets = ( \"192.0.2.1\" ); } );\n"
	  "matrix = ( { down = [ \"storage\" ]; action = \"fence-self\"; } );",
	  4, "no network is named \"storage\"" },
	{ "networks = ( { name = \"x\"; targets = ( \"192.0.2.1\" ); } );\n"
	  "matrix = ( { action = \"alert\"; } );",
	  4, "down must name at least one network" },
	{ "networks = ( { name = \"x\"; targets = ( \"192.0.2.1\" ); } );\n"
	  "matrix = ( { down = [ \"x\" ]; up = [ \"x\" ]; action = \"alert\"; "
	  "} );",
	  4, "both up and down" },
	{ "networks = ( { name = \"x\"; targets = ( \"192.0.2.1\" ); } );\n"
	  "matrix = ( { down = [ \"x\" ]; action = \"reboot\"; } );",
	  4,
	  "\"reboot\" is not one of \"none\", \"alert\", \"stop-vms\", "
	  "\"fence-self\"" },
	{ "networks = ( { name = \"x\"; targets = ( \"192.0.2.1\" ); } );\n"
	  "matrix = ( { down = [ \"x\" ]; } );",
	  4, "action is missing" },
	{ "networks = ( { name = \"x\"; targets = ( \"192.0.2.1\" ); } );\n"
	  "actions = { stop_vm = [ \"virsh\", \"destroy\" ]; };",
	  4, "no argument holds %{vm}" },
	{ "networks = ( { name = \"x\"; targets = ( \"192.0.2.1\" ); } );\n"
	  "actions = {\n stop_vms = [ \"/bin/true\" ];\n"
	  " list_vms = [ \"/bin/true\" ]; };",
	  5, "stop_vms replaces list_vms and stop_vm" },
	{ "networks = ( { name = \"x\"; targets = ( \"192.0.2.1\" ); } );\n"
	  "actions = { sysrq_fallback = \"x\"; };",
	  4, "sysrq_fallback" },
	{ "networks = ( { name = \"x\"; targets = ( \"192.0.2.1\" ); } );\n"
	  "actions = { fence_self = [ ]; };",
	  4, "a command is a list" },
	{ "networks = ( { name = \"x\"; targets = ( \"192.0.2.1\" ); } );\n"
	  "actions = { sysrq_trigger = \"proc/sysrq\"; };",
	  4, "must be an absolute path" },
	{ "networks = ( { name = \"x\"; targets = ( \"192.0.2.1\" ); } );\n"
	  "actions = { rm_rf = [ \"/bin/true\" ]; };",
	  4, "unknown setting 'net_fence.actions.rm_rf'" },
	{ "networks = (\n"
	  " { name = \"n1\"; targets = ( \"192.0.2.1\" ); },\n"
	  " { name = \"n2\"; targets = ( \"192.0.2.1\" ); },\n"
	  " { name = \"n3\"; targets = ( \"192.0.2.1\" ); },\n"
	  " { name = \"n4\"; targets = ( \"192.0.2.1\" ); },\n"
	  " { name = \"n5\"; targets = ( \"192.0.2.1\" ); },\n"
	  " { name = \"n6\"; targets = ( \"192.0.2.1\" ); },\n"
	  " { name = \"n7\"; targets = ( \"192.0.2.1\" ); },\n"
	  " { name = \"n8\"; targets = ( \"192.0.2.1\" ); },\n"
	  " { name = \"n9\"; targets = ( \"192.0.2.1\" ); } );",
	  3, "between 1 and 8 networks" },
};

START_TEST(conf_errors_name_file_and_line)
{
	struct vmh_conf *c;
	char msg[800], want[400];

	ck_assert_int_eq(load(bad[_i].section, &c, msg, sizeof(msg)),
			 VMH_E_CONFIG);
	ck_assert_ptr_null(c);
	snprintf(want, sizeof(want), "%s/vmheal.conf:%d: ", dir, bad[_i].line);
	if (strncmp(msg, want, strlen(want)) != 0 ||
	    strstr(msg, bad[_i].msg) == NULL)
		ck_abort_msg("case %d: got \"%s\", want \"%s...%s\"", _i, msg,
			     want, bad[_i].msg);
}
END_TEST

/* ---- matrix ---------------------------------------------------------------
 */

START_TEST(default_matrix_every_combination)
{
	struct vmh_conf *c;
	char msg[800];
	unsigned mask;
	int rule;

	ck_assert_int_eq(load(three_networks, &c, msg, sizeof(msg)), VMH_OK);
	/* bits: 1 management, 2 storage, 4 tenant */
	for (mask = 0; mask < 8; mask++) {
		enum vmh_nf_action a = vmh_nf_lookup(c->netfence, mask, &rule);

		if (mask == 0) {
			ck_assert_int_eq(a, VMH_NF_NONE);
			ck_assert_int_eq(rule, -1);
		} else if (mask & 2) {
			ck_assert_int_eq(a, VMH_NF_FENCE_SELF);
			ck_assert_int_eq(rule, 1);
		} else {
			ck_assert_int_eq(a, VMH_NF_ALERT);
			ck_assert_int_eq(rule, 0);
		}
	}
	vmh_conf_free(c);
}
END_TEST

START_TEST(explicit_matrix_first_match_wins)
{
	struct vmh_conf *c;
	char msg[800];
	int rule;

	ck_assert_int_eq(
	    load("networks = (\n"
		 "  { name = \"m\"; targets = ( \"192.0.2.1\" ); },\n"
		 "  { name = \"s\"; targets = ( \"192.0.2.2\" ); },\n"
		 "  { name = \"t\"; targets = ( \"192.0.2.3\" ); } );\n"
		 "default_action = \"none\";\n"
		 "matrix = (\n"
		 "  { down = [ \"m\", \"s\", \"t\" ]; action = \"fence-self\"; "
		 "},\n"
		 "  { down = [ \"m\", \"t\" ]; up = [ \"s\" ]; action = "
		 "\"stop-vms\"; },\n"
		 "  { down = [ \"s\" ]; action = \"alert\"; } );\n",
		 &c, msg, sizeof(msg)),
	    VMH_OK);
	ck_assert_int_eq(vmh_nf_lookup(c->netfence, 7, &rule),
			 VMH_NF_FENCE_SELF);
	ck_assert_int_eq(rule, 1);
	ck_assert_int_eq(vmh_nf_lookup(c->netfence, 5, &rule), VMH_NF_STOP_VMS);
	ck_assert_int_eq(rule, 2);
	ck_assert_int_eq(vmh_nf_lookup(c->netfence, 2, &rule), VMH_NF_ALERT);
	ck_assert_int_eq(rule, 3);
	ck_assert_int_eq(vmh_nf_lookup(c->netfence, 3, &rule), VMH_NF_ALERT);
	ck_assert_int_eq(rule, 3);
	ck_assert_int_eq(vmh_nf_lookup(c->netfence, 1, &rule), VMH_NF_NONE);
	ck_assert_int_eq(rule, 0);
	vmh_conf_free(c);
}
END_TEST

START_TEST(action_names)
{
	ck_assert_str_eq(vmh_nf_action_name(VMH_NF_NONE), "none");
	ck_assert_str_eq(vmh_nf_action_name(VMH_NF_ALERT), "alert");
	ck_assert_str_eq(vmh_nf_action_name(VMH_NF_STOP_VMS), "stop-vms");
	ck_assert_str_eq(vmh_nf_action_name(VMH_NF_FENCE_SELF), "fence-self");
	ck_assert_str_eq(vmh_nf_action_name(VMH_NF_ACTION_COUNT), "unknown");
}
END_TEST

/* ---- hysteresis -----------------------------------------------------------
 */

/* Feed rounds to the state machine: pattern holds one character per round
 * and network ('x' failed, '.' up), networks separated by nothing, rounds
 * by spaces; returns the confirmed-down masks after each round. */
static void
simulate(const struct vmh_netfence_conf *c, struct vmh_nf_state *st,
	 const char *pattern, unsigned *masks, size_t max)
{
	int observed[VMH_NF_MAX_NETWORKS];
	size_t r = 0, i;
	const char *p = pattern;

	while (*p != '\0' && r < max) {
		for (i = 0; i < c->n_networks; i++, p++)
			observed[i] = *p == 'x';
		vmh_nf_step(c, st, observed, 1000 + (long long)r);
		masks[r++] = vmh_nf_down_mask(st);
		while (*p == ' ')
			p++;
	}
}

START_TEST(down_after_exactly_k_failed_rounds_up_after_r)
{
	struct vmh_conf *c;
	struct vmh_nf_state st;
	unsigned m[16];
	char msg[800];

	ck_assert_int_eq(load(three_networks, &c, msg, sizeof(msg)), VMH_OK);
	vmh_nf_state_init(c->netfence, &st);
	/* storage fails for 4 rounds, then answers again */
	simulate(c->netfence, &st, ".x. .x. .x. .x. ... ... ...", m, 7);
	ck_assert_uint_eq(m[0], 0);
	ck_assert_uint_eq(m[1], 0);
	ck_assert_uint_eq(m[2], 2); /* K = 3 */
	ck_assert_uint_eq(m[3], 2);
	ck_assert_uint_eq(m[4], 2); /* recovering: 1 good of R = 2 */
	ck_assert_uint_eq(m[5], 0);
	ck_assert_uint_eq(m[6], 0);
	ck_assert_int_eq(st.rounds, 7);
	ck_assert_int_eq(st.net[1].since, 1005);
	vmh_conf_free(c);
}
END_TEST

START_TEST(a_flap_shorter_than_k_never_acts)
{
	struct vmh_conf *c;
	struct vmh_nf_state st;
	unsigned m[8];
	char msg[800];
	int observed[3], rule, r;

	ck_assert_int_eq(load(three_networks, &c, msg, sizeof(msg)), VMH_OK);
	vmh_nf_state_init(c->netfence, &st);
	/* Storage fails two rounds in every three, for 300 rounds: K = 3 is
	 * never reached, so it is never confirmed and nothing ever acts.
	 * Management and tenant flap every other round meanwhile. */
	for (r = 0; r < 300; r++) {
		observed[0] = r % 2 == 0;
		observed[1] = r % 3 != 2;
		observed[2] = r % 2 == 1;
		vmh_nf_step(c->netfence, &st, observed, 1000 + r);
		ck_assert_uint_eq(vmh_nf_down_mask(&st), 0);
		ck_assert_int_le(st.net[1].fail_streak, 2);
		ck_assert_int_eq(
		    vmh_nf_lookup(c->netfence, vmh_nf_down_mask(&st), &rule),
		    VMH_NF_NONE);
		ck_assert_int_eq(vmh_nf_due(&st, VMH_NF_NONE), VMH_NF_NONE);
	}
	/* A single failed round of every network at once never counts. */
	vmh_nf_state_init(c->netfence, &st);
	simulate(c->netfence, &st, "xxx ... xxx ... xxx ...", m, 6);
	for (r = 0; r < 6; r++)
		ck_assert_uint_eq(m[r], 0);
	/* The third consecutive failure, and only it, confirms. */
	simulate(c->netfence, &st, ".x. .x. .x.", m, 3);
	ck_assert_uint_eq(m[0], 0);
	ck_assert_uint_eq(m[1], 0);
	ck_assert_uint_eq(m[2], 2);
	vmh_conf_free(c);
}
END_TEST

START_TEST(recovering_network_that_fails_again_stays_down)
{
	struct vmh_conf *c;
	struct vmh_nf_state st;
	unsigned m[16];
	char msg[800];

	ck_assert_int_eq(load(three_networks, &c, msg, sizeof(msg)), VMH_OK);
	vmh_nf_state_init(c->netfence, &st);
	simulate(c->netfence, &st, "x.. x.. x.. ... x.. ... ... ...", m, 8);
	ck_assert_uint_eq(m[2], 1);
	ck_assert_uint_eq(m[3], 1); /* one good round of two */
	ck_assert_uint_eq(m[4], 1); /* failed again: streak restarts */
	ck_assert_uint_eq(m[5], 1);
	ck_assert_uint_eq(m[6], 0);
	ck_assert_uint_eq(m[7], 0);
	vmh_conf_free(c);
}
END_TEST

START_TEST(per_network_hysteresis)
{
	struct vmh_conf *c;
	struct vmh_nf_state st;
	unsigned m[8];
	char msg[800];

	ck_assert_int_eq(
	    load("networks = (\n"
		 "  { name = \"fast\"; fail_rounds = 2; recover_rounds = 1;\n"
		 "    targets = ( \"192.0.2.1\" ); },\n"
		 "  { name = \"slow\"; fail_rounds = 5; targets = ( "
		 "\"192.0.2.2\" ); } );",
		 &c, msg, sizeof(msg)),
	    VMH_OK);
	vmh_nf_state_init(c->netfence, &st);
	simulate(c->netfence, &st, "xx xx xx xx xx .x", m, 6);
	ck_assert_uint_eq(m[0], 0);
	ck_assert_uint_eq(m[1], 1);
	ck_assert_uint_eq(m[3], 1);
	ck_assert_uint_eq(m[4], 3);
	ck_assert_uint_eq(m[5], 2); /* fast recovers in one round */
	vmh_conf_free(c);
}
END_TEST

/* ---- incidents and actions ------------------------------------------------
 */

START_TEST(actions_run_once_per_incident_and_escalate)
{
	struct vmh_nf_state st;

	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(vmh_nf_due(&st, VMH_NF_NONE), VMH_NF_NONE);
	ck_assert_int_eq(vmh_nf_due(&st, VMH_NF_ALERT), VMH_NF_ALERT);
	st.acted = VMH_NF_ALERT;
	st.act_status = VMH_NF_ACT_DONE;
	ck_assert_int_eq(vmh_nf_due(&st, VMH_NF_ALERT), VMH_NF_NONE);
	/* escalation */
	ck_assert_int_eq(vmh_nf_due(&st, VMH_NF_FENCE_SELF), VMH_NF_FENCE_SELF);
	st.acted = VMH_NF_FENCE_SELF;
	st.act_status = VMH_NF_ACT_DONE;
	ck_assert_int_eq(vmh_nf_due(&st, VMH_NF_FENCE_SELF), VMH_NF_NONE);
	ck_assert_int_eq(vmh_nf_due(&st, VMH_NF_FENCE_SELF), VMH_NF_NONE);
	/* storage back, management still down: the alert is new */
	ck_assert_int_eq(vmh_nf_due(&st, VMH_NF_ALERT), VMH_NF_ALERT);
	st.acted = VMH_NF_ALERT;
	st.act_status = VMH_NF_ACT_DONE;
	/* and storage lost again: fence again */
	ck_assert_int_eq(vmh_nf_due(&st, VMH_NF_FENCE_SELF), VMH_NF_FENCE_SELF);
	/* all up: the incident ends */
	ck_assert_int_eq(vmh_nf_due(&st, VMH_NF_NONE), VMH_NF_NONE);
	ck_assert_int_eq(st.acted, VMH_NF_NONE);
	ck_assert_int_eq(st.act_status, VMH_NF_ACT_NONE);
}
END_TEST

START_TEST(failed_or_interrupted_actions_are_retried)
{
	struct vmh_nf_state st;

	memset(&st, 0, sizeof(st));
	st.acted = VMH_NF_FENCE_SELF;
	st.act_status = VMH_NF_ACT_FAILED;
	ck_assert_int_eq(vmh_nf_due(&st, VMH_NF_FENCE_SELF), VMH_NF_FENCE_SELF);
	/* killed while it ran: "started" is still on disk */
	st.act_status = VMH_NF_ACT_STARTED;
	ck_assert_int_eq(vmh_nf_due(&st, VMH_NF_FENCE_SELF), VMH_NF_FENCE_SELF);
	/* stop-vms repeats while it is the verdict */
	st.acted = VMH_NF_STOP_VMS;
	st.act_status = VMH_NF_ACT_DONE;
	ck_assert_int_eq(vmh_nf_due(&st, VMH_NF_STOP_VMS), VMH_NF_STOP_VMS);
}
END_TEST

START_TEST(exit_status_of_a_round)
{
	struct vmh_nf_report r;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(vmh_nf_report_exit(&r), 0);
	r.verdict = VMH_NF_ALERT;
	ck_assert_int_eq(vmh_nf_report_exit(&r), VMH_EXIT_DEGRADED);
	ck_assert_int_eq(VMH_EXIT_DEGRADED, 85);
	r.verdict = VMH_NF_FENCE_SELF;
	r.action = VMH_NF_FENCE_SELF;
	r.action_ok = 1;
	ck_assert_int_eq(vmh_nf_report_exit(&r), VMH_EXIT_ISOLATED);
	r.action_ok = 0;
	ck_assert_int_eq(vmh_nf_report_exit(&r), VMH_EXIT_FENCE_FAILED);
	r.action = VMH_NF_NONE; /* done in an earlier round */
	ck_assert_int_eq(vmh_nf_report_exit(&r), VMH_EXIT_ISOLATED);
	r.verdict = VMH_NF_STOP_VMS;
	r.action = VMH_NF_STOP_VMS;
	ck_assert_int_eq(vmh_nf_report_exit(&r), VMH_EXIT_FENCE_FAILED);
}
END_TEST

/* ---- state file ------------------------------------------------------------
 */

START_TEST(state_round_trip_and_config_changes)
{
	struct vmh_conf *c, *c2;
	struct vmh_nf_state st, back;
	struct vmh_error err;
	char msg[800], *path, *tmp;

	ck_assert_int_eq(load(three_networks, &c, msg, sizeof(msg)), VMH_OK);
	ck_assert(asprintf(&path, "%s/nf.state", dir) > 0);
	vmh_nf_state_init(c->netfence, &st);
	st.rounds = 41;
	st.updated = 1700000000;
	st.acted = VMH_NF_FENCE_SELF;
	st.act_status = VMH_NF_ACT_STARTED;
	st.acted_at = 1699999999;
	st.net[1].down = 1;
	st.net[1].fail_streak = 7;
	st.net[1].since = 1699999990;
	st.net[2].ok_streak = 3;
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_nf_state_save(path, &st, &err), VMH_OK);
	ck_assert_int_eq(vmh_nf_state_load(path, c->netfence, &back, &err),
			 VMH_OK);
	ck_assert_int_eq(back.rounds, 41);
	ck_assert_int_eq(back.updated, 1700000000);
	ck_assert_int_eq(back.acted, VMH_NF_FENCE_SELF);
	ck_assert_int_eq(back.act_status, VMH_NF_ACT_STARTED);
	ck_assert_int_eq(back.acted_at, 1699999999);
	ck_assert_int_eq(back.net[1].down, 1);
	ck_assert_int_eq(back.net[1].fail_streak, 7);
	ck_assert_int_eq(back.net[1].since, 1699999990);
	ck_assert_int_eq(back.net[2].ok_streak, 3);
	ck_assert_str_eq(back.net[2].name, "tenant");
	/* No temporary file is left behind. */
	ck_assert(asprintf(&tmp, "%s/nf.state.tmp", dir) > 0);
	ck_assert_int_ne(access(tmp, F_OK), 0);
	free(tmp);

	/* Networks reordered, one renamed: state follows the names. */
	ck_assert_int_eq(
	    load("networks = (\n"
		 "  { name = \"storage\"; targets = ( \"192.0.2.2\" ); },\n"
		 "  { name = \"backup\"; targets = ( \"192.0.2.4\" ); } );",
		 &c2, msg, sizeof(msg)),
	    VMH_OK);
	ck_assert_int_eq(vmh_nf_state_load(path, c2->netfence, &back, &err),
			 VMH_OK);
	ck_assert_uint_eq(back.n, 2);
	ck_assert_int_eq(back.net[0].down, 1);
	ck_assert_int_eq(back.net[0].fail_streak, 7);
	ck_assert_int_eq(back.net[1].down, 0);
	ck_assert_str_eq(back.net[1].name, "backup");
	free(path);
	vmh_conf_free(c2);
	vmh_conf_free(c);
}
END_TEST

static const struct {
	const char *text;
	int line;
} corrupt[] = {
	{ "", 0 },
	{ "garbage\n", 1 },
	{ "vmheal-net_fence-state 2\nend\n", 1 },
	{ "vmheal-net_fence-state 1\nrounds 3\n", 2 },
	{ "vmheal-net_fence-state 1\nrounds -3\nend\n", 2 },
	{ "vmheal-net_fence-state 1\nrounds 3x\nend\n", 2 },
	{ "vmheal-net_fence-state 1\nacted reboot done 0\nend\n", 2 },
	{ "vmheal-net_fence-state 1\nacted fence-self maybe 0\nend\n", 2 },
	{ "vmheal-net_fence-state 1\nnet storage 2 0 0 0\nend\n", 2 },
	{ "vmheal-net_fence-state 1\nnet storage 1 0 0\nend\n", 2 },
	{ "vmheal-net_fence-state 1\nnet st/orage 1 0 0 0\nend\n", 2 },
	{ "vmheal-net_fence-state 1\nnet storage 1 0 0 0 0 0 0 0 0\nend\n", 2 },
	{ "vmheal-net_fence-state 1\nend\nrounds 3\n", 3 },
	{ "vmheal-net_fence-state 1\nrounds 3\nend", 3 },
};

START_TEST(corrupt_state_is_refused_with_its_line)
{
	struct vmh_conf *c;
	struct vmh_nf_state st;
	struct vmh_error err;
	char msg[800], *path;

	ck_assert_int_eq(load(three_networks, &c, msg, sizeof(msg)), VMH_OK);
	path = tu_write(dir, "bad.state", corrupt[_i].text, 0600);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_nf_state_load(path, c->netfence, &st, &err),
			 VMH_E_DATA);
	ck_assert_int_eq(err.line, corrupt[_i].line);
	ck_assert_str_eq(err.source, path);
	/* and the state handed back is a fresh one */
	ck_assert_int_eq(st.rounds, 0);
	ck_assert_uint_eq(st.n, 3);
	ck_assert_int_eq(st.net[1].down, 0);
	free(path);
	vmh_conf_free(c);
}
END_TEST

START_TEST(state_binary_oversized_missing)
{
	struct vmh_conf *c;
	struct vmh_nf_state st;
	struct vmh_error err;
	char msg[800], *path, *big;
	FILE *f;

	ck_assert_int_eq(load(three_networks, &c, msg, sizeof(msg)), VMH_OK);
	vmh_error_init(&err);
	ck_assert(asprintf(&path, "%s/none.state", dir) > 0);
	ck_assert_int_eq(vmh_nf_state_load(path, c->netfence, &st, &err),
			 VMH_OK);
	free(path);

	ck_assert(asprintf(&path, "%s/nul.state", dir) > 0);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fwrite("vmheal-net_fence-state 1\n\0end\n", 1, 30, f);
	fclose(f);
	ck_assert_int_eq(vmh_nf_state_load(path, c->netfence, &st, &err),
			 VMH_E_DATA);
	ck_assert_ptr_nonnull(strstr(err.text, "binary"));
	free(path);

	big = calloc(70 * 1024, 1);
	memset(big, '#', 70 * 1024 - 1);
	path = tu_write(dir, "big.state", big, 0600);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_nf_state_load(path, c->netfence, &st, &err),
			 VMH_E_DATA);
	free(big);
	free(path);

	/* A symbolic link is not followed. */
	ck_assert(asprintf(&path, "%s/link.state", dir) > 0);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	vmh_error_init(&err);
	ck_assert_int_ne(vmh_nf_state_load(path, c->netfence, &st, &err),
			 VMH_OK);
	free(path);
	vmh_conf_free(c);
}
END_TEST

START_TEST(open_sets_a_corrupt_state_aside)
{
	struct vmh_conf *c;
	struct vmh_netfence *nf;
	struct vmh_error err;
	char msg[800], *sdir, *path, *aside;

	ck_assert_int_eq(load(three_networks, &c, msg, sizeof(msg)), VMH_OK);
	ck_assert(asprintf(&sdir, "%s/state", dir) > 0);
	ck_assert_int_eq(mkdir(sdir, 0700), 0);
	path = tu_write(sdir, "net_fence.state", "rubbish\n", 0600);
	ck_assert(asprintf(&aside, "%s.corrupt", path) > 0);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_netfence_open(&nf, c->netfence, sdir, 0, &err),
			 VMH_OK);
	ck_assert_int_eq(nf->st.rounds, 0);
	ck_assert_int_eq(access(aside, F_OK), 0);
	vmh_netfence_close(nf);
	free(aside);
	free(path);
	free(sdir);
	vmh_conf_free(c);
}
END_TEST

START_TEST(lock_one_run_at_a_time_dry_run_apart)
{
	struct vmh_conf *c;
	struct vmh_netfence *nf = NULL, *dry = NULL;
	struct vmh_error err;
	char msg[800], *sdir, c1;
	int p[2], status;
	pid_t pid;

	ck_assert_int_eq(load(three_networks, &c, msg, sizeof(msg)), VMH_OK);
	ck_assert(asprintf(&sdir, "%s/state", dir) > 0);
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (vmh_netfence_open(&nf, c->netfence, sdir, 0, NULL) !=
		    VMH_OK)
			_exit(1);
		(void)!write(p[1], "x", 1);
		pause();
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c1, 1), 1);
	close(p[0]);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_netfence_open(&nf, c->netfence, sdir, 0, &err),
			 VMH_E_BUSY);
	ck_assert_ptr_null(nf);
	ck_assert_ptr_nonnull(strstr(err.text, "held by another process"));
	/* A dry run has its own lock and state: it never waits for, nor
	 * disturbs, the real one. */
	ck_assert_int_eq(vmh_netfence_open(&dry, c->netfence, sdir, 1, NULL),
			 VMH_OK);
	ck_assert_ptr_nonnull(strstr(dry->state_path, "dry-run"));
	vmh_netfence_close(dry);
	/* The holder dies: the lock goes with it. */
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ck_assert_int_eq(vmh_netfence_open(&nf, c->netfence, sdir, 0, NULL),
			 VMH_OK);
	vmh_netfence_close(nf);
	free(sdir);
	vmh_conf_free(c);
}
END_TEST

/* ---- whole rounds -----------------------------------------------------------
 */

/* A recorder that stands for poweroff/virsh; returns its path. */
static char *
recorder(void)
{
	char *text, *path;

	ck_assert(asprintf(&text,
			   "#!/bin/sh\n"
			   "echo \"$* [$VMHEAL_NET_FENCE_ACTION "
			   "$VMHEAL_NET_FENCE_DOWN]\" >>%s/record\n"
			   "[ \"$1\" = list ] && printf 'vm1\\n-rf\\nvm2\\n'\n"
			   "[ \"$1\" = fail ] && exit 3\n"
			   "exit 0\n",
			   dir) > 0);
	path = tu_write(dir, "recorder", text, 0755);
	free(text);
	return path;
}

static int
count_lines(const char *needle)
{
	char *path, line[512];
	FILE *f;
	int n = 0;

	ck_assert(asprintf(&path, "%s/record", dir) > 0);
	f = fopen(path, "r");
	free(path);
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

/* Rounds against targets that cannot answer: a private network namespace
 * with loopback down, 127.0.0.1 for storage and ::1 for management. */
START_TEST(rounds_fence_once_after_k_rounds)
{
	struct vmh_conf *c;
	struct vmh_netfence *nf;
	struct vmh_nf_report rep;
	struct vmh_error err;
	char msg[1200], section[1000], *rec, *sdir, *text;
	json_t *j;
	int r;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		return; /* needs root: a namespace with nothing reachable */
	rec = recorder();
	snprintf(section, sizeof(section),
		 "round_timeout = 100; icmp_count = 1;\n"
		 "networks = (\n"
		 " { name = \"management\"; targets = ( { address = \"::1\";"
		 " port = 22; } ); },\n"
		 " { name = \"storage\"; targets = ( \"127.0.0.1\" ); } );\n"
		 "actions = { fence_self = [ \"%s\", \"poweroff\" ];\n"
		 " alert = [ \"%s\", \"alert\" ];\n"
		 " list_vms = [ \"%s\", \"list\" ];\n"
		 " stop_vm = [ \"%s\", \"destroy\", \"vm=%%{vm}\" ]; };",
		 rec, rec, rec, rec);
	ck_assert_int_eq(load(section, &c, msg, sizeof(msg)), VMH_OK);
	ck_assert(asprintf(&sdir, "%s/state", dir) > 0);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_netfence_open(&nf, c->netfence, sdir, 0, &err),
			 VMH_OK);
	for (r = 1; r <= 4; r++) {
		ck_assert_int_eq(vmh_netfence_round(nf, &rep, &err), VMH_OK);
		ck_assert_int_eq(rep.net[1].observed_down, 1);
		if (r < 3) {
			ck_assert_int_eq(rep.verdict, VMH_NF_NONE);
			ck_assert_int_eq(vmh_nf_report_exit(&rep), 0);
			ck_assert_int_eq(count_lines("poweroff"), 0);
		} else {
			ck_assert_int_eq(rep.verdict, VMH_NF_FENCE_SELF);
			ck_assert_int_eq(vmh_nf_report_exit(&rep),
					 VMH_EXIT_ISOLATED);
			ck_assert_int_eq(rep.action, r == 3 ? VMH_NF_FENCE_SELF
							    : VMH_NF_NONE);
			ck_assert_int_eq(rep.action_earlier, r == 4);
		}
		if (r == 3) {
			j = vmh_nf_report_json(&rep);
			ck_assert_ptr_nonnull(j);
			ck_assert_str_eq(
			    json_string_value(json_object_get(j, "verdict")),
			    "fence-self");
			ck_assert_int_eq(
			    json_integer_value(json_object_get(j, "exit")), 82);
			ck_assert_int_eq(
			    json_array_size(json_object_get(j, "down")), 2);
			text = json_dumps(j, 0);
			ck_assert_ptr_nonnull(strstr(text, "\"rule\": 1"));
			free(text);
			json_decref(j);
		}
		vmh_nf_report_free(&rep);
	}
	/* Exactly once, with the verdict in its environment; no alert. */
	ck_assert_int_eq(
	    count_lines("poweroff [fence-self management,storage]"), 1);
	ck_assert_int_eq(count_lines("alert"), 0);
	vmh_netfence_close(nf);
	free(sdir);
	free(rec);
	vmh_conf_free(c);
}
END_TEST

START_TEST(rounds_stop_vms_skips_bad_names_and_failures_count)
{
	struct vmh_conf *c;
	struct vmh_netfence *nf;
	struct vmh_nf_report rep;
	struct vmh_error err;
	char msg[1200], section[1000], *rec, *sdir;
	int r;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		return;
	rec = recorder();
	snprintf(
	    section, sizeof(section),
	    "round_timeout = 100; fail_rounds = 2;\n"
	    "networks = ( { name = \"tenant\"; targets = ( \"127.0.0.1\" ); } "
	    ");\n"
	    "matrix = ( { down = [ \"tenant\" ]; action = \"stop-vms\"; } );\n"
	    "actions = { list_vms = [ \"%s\", \"list\" ];\n"
	    " stop_vm = [ \"%s\", \"destroy\", \"vm=%%{vm}\" ]; };",
	    rec, rec);
	ck_assert_int_eq(load(section, &c, msg, sizeof(msg)), VMH_OK);
	ck_assert(asprintf(&sdir, "%s/state", dir) > 0);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_netfence_open(&nf, c->netfence, sdir, 0, &err),
			 VMH_OK);
	for (r = 1; r <= 3; r++) {
		ck_assert_int_eq(vmh_netfence_round(nf, &rep, &err), VMH_OK);
		if (r >= 2) {
			ck_assert_int_eq(rep.action, VMH_NF_STOP_VMS);
			/* "-rf" from list_vms is refused: not all done */
			ck_assert_int_eq(rep.action_ok, 0);
			ck_assert_ptr_nonnull(
			    strstr(rep.action_detail, "2 VMs stopped"));
			ck_assert_int_eq(vmh_nf_report_exit(&rep),
					 VMH_EXIT_FENCE_FAILED);
		}
		vmh_nf_report_free(&rep);
	}
	ck_assert_int_eq(count_lines("destroy vm=vm1"), 2);
	ck_assert_int_eq(count_lines("destroy vm=vm2"), 2);
	ck_assert_int_eq(count_lines("rf"), 0);
	vmh_netfence_close(nf);
	free(sdir);
	free(rec);
	vmh_conf_free(c);
}
END_TEST

START_TEST(dry_run_records_but_runs_nothing)
{
	struct vmh_conf *c;
	struct vmh_netfence *nf;
	struct vmh_nf_report rep;
	struct vmh_error err;
	char msg[1200], section[1000], *rec, *sdir;
	int r;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		return;
	rec = recorder();
	snprintf(section, sizeof(section),
		 "round_timeout = 60; fail_rounds = 2;\n"
		 "networks = ( { name = \"storage\"; targets = ( \"127.0.0.1\" "
		 "); } );\n"
		 "actions = { fence_self = [ \"%s\", \"poweroff\" ]; };",
		 rec);
	ck_assert_int_eq(load(section, &c, msg, sizeof(msg)), VMH_OK);
	ck_assert(asprintf(&sdir, "%s/state", dir) > 0);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_netfence_open(&nf, c->netfence, sdir, 1, &err),
			 VMH_OK);
	for (r = 1; r <= 3; r++) {
		ck_assert_int_eq(vmh_netfence_round(nf, &rep, &err), VMH_OK);
		if (r == 2) {
			ck_assert_int_eq(rep.action, VMH_NF_FENCE_SELF);
			ck_assert_int_eq(rep.dry_run, 1);
			ck_assert_ptr_nonnull(
			    strstr(rep.action_detail, "would run: "));
			ck_assert_int_eq(vmh_nf_report_exit(&rep), 82);
		}
		vmh_nf_report_free(&rep);
	}
	ck_assert_int_eq(count_lines("poweroff"), 0);
	vmh_netfence_close(nf);
	free(sdir);
	free(rec);
	vmh_conf_free(c);
}
END_TEST

START_TEST(unsafe_action_program_refused)
{
	struct vmh_conf *c;
	struct vmh_error err;
	char msg[1200], section[600], *rec;

	rec = recorder();
	ck_assert_int_eq(chmod(rec, 0777), 0);
	snprintf(
	    section, sizeof(section),
	    "networks = ( { name = \"s\"; targets = ( \"127.0.0.1\" ); } );\n"
	    "actions = { fence_self = [ \"%s\" ]; };",
	    rec);
	ck_assert_int_eq(load(section, &c, msg, sizeof(msg)), VMH_OK);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_netfence_check_commands(c->netfence, &err),
			 VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.text, "unsafe program"));
	ck_assert_int_eq(chmod(rec, 0755), 0);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_netfence_check_commands(c->netfence, &err),
			 VMH_OK);
	free(rec);
	vmh_conf_free(c);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("netfence");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, conf_defaults);
	tcase_add_test(tc, conf_full);
	tcase_add_loop_test(tc, conf_errors_name_file_and_line, 0,
			    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, default_matrix_every_combination);
	tcase_add_test(tc, explicit_matrix_first_match_wins);
	tcase_add_test(tc, action_names);
	tcase_add_test(tc, down_after_exactly_k_failed_rounds_up_after_r);
	tcase_add_test(tc, a_flap_shorter_than_k_never_acts);
	tcase_add_test(tc, recovering_network_that_fails_again_stays_down);
	tcase_add_test(tc, per_network_hysteresis);
	tcase_add_test(tc, actions_run_once_per_incident_and_escalate);
	tcase_add_test(tc, failed_or_interrupted_actions_are_retried);
	tcase_add_test(tc, exit_status_of_a_round);
	tcase_add_test(tc, state_round_trip_and_config_changes);
	tcase_add_loop_test(tc, corrupt_state_is_refused_with_its_line, 0,
			    (int)(sizeof(corrupt) / sizeof(corrupt[0])));
	tcase_add_test(tc, state_binary_oversized_missing);
	tcase_add_test(tc, open_sets_a_corrupt_state_aside);
	tcase_add_test(tc, lock_one_run_at_a_time_dry_run_apart);
	tcase_add_test(tc, rounds_fence_once_after_k_rounds);
	tcase_add_test(tc, rounds_stop_vms_skips_bad_names_and_failures_count);
	tcase_add_test(tc, dry_run_records_but_runs_nothing);
	tcase_add_test(tc, unsafe_action_program_refused);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
