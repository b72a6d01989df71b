/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Running programs: status decoding, stdin, caps, env scrub, deadlines. */
#include "config.h"

#include <signal.h>

#include "exec.h"
#include "str.h"
#include "testutil.h"

static enum vmh_rc
run_sh(const char *script, const char *in, int timeout_ms, size_t cap,
       struct vmh_exec_result *res, struct vmh_error *err)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct vmh_exec_opts o = {
		.argv = argv,
		.stdin_data = in,
		.stdin_len = in ? strlen(in) : 0,
		.timeout_ms = timeout_ms,
		.kill_grace_ms = 300,
		.out_max = cap,
	};

	vmh_error_init(err);
	return vmh_exec_run(&o, res, err);
}

START_TEST(exit_status_and_output)
{
	struct vmh_exec_result r;
	struct vmh_error err;
	char d[64];

	ck_assert_int_eq(
	    run_sh("echo out; echo err >&2; exit 3", NULL, 5000, 0, &r, &err),
	    VMH_OK);
	ck_assert(r.exited);
	ck_assert_int_eq(r.exit_code, 3);
	ck_assert_str_eq(vmh_buf_str(&r.out), "out\n");
	ck_assert_str_eq(vmh_buf_str(&r.err), "err\n");
	ck_assert_str_eq(vmh_exec_describe(&r, d, sizeof(d)), "exit 3");
	vmh_exec_result_free(&r);
}
END_TEST

START_TEST(stdin_is_delivered)
{
	struct vmh_exec_result r;
	struct vmh_error err;

	ck_assert_int_eq(
	    run_sh("cat", "action=off\npassword=x\n", 5000, 0, &r, &err),
	    VMH_OK);
	ck_assert_str_eq(vmh_buf_str(&r.out), "action=off\npassword=x\n");
	vmh_exec_result_free(&r);
	/* No stdin data: /dev/null, immediate EOF. */
	ck_assert_int_eq(run_sh("cat; echo done", NULL, 5000, 0, &r, &err),
			 VMH_OK);
	ck_assert_str_eq(vmh_buf_str(&r.out), "done\n");
	vmh_exec_result_free(&r);
}
END_TEST

START_TEST(large_stdin_to_child_that_exits)
{
	struct vmh_exec_result r;
	struct vmh_error err;
	char *big = malloc(1 << 20);

	memset(big, 'x', (1 << 20) - 1);
	big[(1 << 20) - 1] = '\0';
	/* The child never reads: we must not die of SIGPIPE or block. */
	ck_assert_int_eq(run_sh("exit 0", big, 5000, 0, &r, &err), VMH_OK);
	ck_assert_int_eq(r.exit_code, 0);
	vmh_exec_result_free(&r);
	free(big);
}
END_TEST

START_TEST(output_is_capped)
{
	struct vmh_exec_result r;
	struct vmh_error err;

	ck_assert_int_eq(run_sh("head -c 100000 /dev/zero | tr '\\0' a", NULL,
				5000, 1000, &r, &err),
			 VMH_OK);
	ck_assert_uint_eq(r.out.len, 1000);
	ck_assert(r.truncated);
	ck_assert_int_eq(r.exit_code, 0);
	vmh_exec_result_free(&r);
}
END_TEST

START_TEST(environment_is_scrubbed)
{
	struct vmh_exec_result r;
	struct vmh_error err;
	const char *argv[] = { "/bin/sh", "-c", "env | sort", NULL };
	const char *env[] = { "ONE_XMLRPC=http://127.0.0.1:1/RPC2", NULL };
	struct vmh_exec_opts o = { .argv = argv,
				   .env = env,
				   .timeout_ms = 5000 };

	setenv("VMH_LEAK", "must-not-pass", 1);
	setenv("LD_PRELOAD", "/nonexistent.so", 1);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_exec_run(&o, &r, &err), VMH_OK);
	unsetenv("LD_PRELOAD");
	ck_assert_ptr_null(strstr(vmh_buf_str(&r.out), "VMH_LEAK"));
	ck_assert_ptr_null(strstr(vmh_buf_str(&r.out), "LD_PRELOAD"));
	ck_assert_ptr_nonnull(
	    strstr(vmh_buf_str(&r.out), "ONE_XMLRPC=http://127.0.0.1:1"));
	ck_assert_ptr_nonnull(strstr(vmh_buf_str(&r.out), "PATH=/usr/local"));
	vmh_exec_result_free(&r);
}
END_TEST

START_TEST(timeout_kills_the_whole_group)
{
	struct vmh_exec_result r;
	struct vmh_error err;
	char *dir = tu_mkdtemp(), *script;
	long long t0 = vmh_now_ms();
	FILE *f;
	int pid = 0;

	/* The grandchild ignores nothing but writes its pid: it must die
	 * with the group even though it is not our direct child. */
	ck_assert(asprintf(&script,
			   "sleep 60 & echo $! > %s/gc; trap '' TERM; "
			   "while :; do sleep 1; done",
			   dir) > 0);
	ck_assert_int_eq(run_sh(script, NULL, 500, 0, &r, &err), VMH_E_TIMEOUT);
	ck_assert(r.timed_out);
	ck_assert(r.signaled);
	ck_assert_int_eq(r.signo, SIGKILL); /* TERM ignored: KILL followed */
	ck_assert_int_lt(vmh_now_ms() - t0, 3000);
	ck_assert_str_eq(err.text, "timed out after 500 ms");
	vmh_exec_result_free(&r);
	free(script);
	ck_assert(asprintf(&script, "%s/gc", dir) > 0);
	f = fopen(script, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &pid), 1);
	fclose(f);
	vmh_sleep_ms(100);
	ck_assert_int_ne(kill(pid, 0), 0); /* the grandchild is gone */
	free(script);
	tu_rmdir(dir);
}
END_TEST

START_TEST(term_is_enough_for_polite_children)
{
	struct vmh_exec_result r;
	struct vmh_error err;

	ck_assert_int_eq(run_sh("exec sleep 30", NULL, 300, 0, &r, &err),
			 VMH_E_TIMEOUT);
	ck_assert(r.signaled);
	ck_assert_int_eq(r.signo, SIGTERM);
	vmh_exec_result_free(&r);
}
END_TEST

START_TEST(background_holder_does_not_hang_us)
{
	struct vmh_exec_result r;
	struct vmh_error err;
	long long t0 = vmh_now_ms();

	/* The child exits at once but leaves a descendant holding stdout. */
	ck_assert_int_eq(
	    run_sh("sleep 30 & echo started", NULL, 600, 0, &r, &err), VMH_OK);
	ck_assert(!r.timed_out);
	ck_assert(r.exited);
	ck_assert_str_eq(vmh_buf_str(&r.out), "started\n");
	ck_assert_int_lt(vmh_now_ms() - t0, 3000);
	vmh_exec_result_free(&r);
}
END_TEST

START_TEST(missing_program)
{
	struct vmh_exec_result r;
	struct vmh_error err;
	const char *argv[] = { "/nonexistent/fence_agent", NULL };
	struct vmh_exec_opts o = { .argv = argv, .timeout_ms = 2000 };

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_exec_run(&o, &r, &err), VMH_E_SYSTEM);
	ck_assert_int_eq(r.exit_code, 127);
	ck_assert_str_eq(err.source, "/nonexistent/fence_agent");
	vmh_exec_result_free(&r);
}
END_TEST

START_TEST(bad_options)
{
	struct vmh_exec_result r;
	struct vmh_error err;
	const char *argv[] = { "/bin/true", NULL };
	struct vmh_exec_opts o = { .argv = argv, .timeout_ms = 0 };

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_exec_run(&o, &r, &err), VMH_E_USAGE);
	vmh_exec_result_free(&r);
}
END_TEST

START_TEST(secure_check)
{
	struct vmh_error err;
	char *dir = tu_mkdtemp(), *ok, *bad;

	ok = tu_write(dir, "ok.sh", "#!/bin/sh\n", 0700);
	bad = tu_write(dir, "bad.sh", "#!/bin/sh\n", 0777);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_exec_check_secure(ok, &err), VMH_OK);
	ck_assert_int_eq(vmh_exec_check_secure(bad, &err), VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.text, "unsafe program"));
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_exec_check_secure("relative.sh", &err),
			 VMH_E_CONFIG);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_exec_check_secure("/nonexistent", &err),
			 VMH_E_SYSTEM);
	free(ok);
	free(bad);
	tu_rmdir(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("exec");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, exit_status_and_output);
	tcase_add_test(tc, stdin_is_delivered);
	tcase_add_test(tc, large_stdin_to_child_that_exits);
	tcase_add_test(tc, output_is_capped);
	tcase_add_test(tc, environment_is_scrubbed);
	tcase_add_test(tc, timeout_kills_the_whole_group);
	tcase_add_test(tc, term_is_enough_for_polite_children);
	tcase_add_test(tc, background_holder_does_not_hang_us);
	tcase_add_test(tc, missing_program);
	tcase_add_test(tc, bad_options);
	tcase_add_test(tc, secure_check);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
