/* Unit tests for common/daemon: the command line (--help, --version,
 * --config, --log-level, --SECTION.KEY overrides in both forms, their
 * precedence over the file, and the error messages) and host:port
 * splitting. stdout and stderr are captured in temporary files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon.h"
#include "vlog.h"

static const struct config_option options[] = {
    DAEMON_COMMON_OPTIONS,
    { "libvirt", "uri", CONFIG_STRING, "qemu:///system", 0, 0,
      "Hypervisor connection URI." },
    { "libvirt", "keepalive_interval", CONFIG_INT, "5", 1, 3600,
      "Keepalive interval in seconds." },
    { "heartbeat", "enabled", CONFIG_BOOL, "false", 0, 0,
      "Send heartbeats." },
    { NULL, NULL, CONFIG_STRING, NULL, 0, 0, NULL },
};

static const struct daemon_desc desc = {
    .name = "vigil-test",
    .summary = "A daemon under test.",
    .options = options,
};

struct captured {
    char *out;
    char *err;
};

/* Runs daemon_parse_args() on the NULL-terminated 'args' (after argv[0])
 * with stdout and stderr captured into 'cap' (caller frees). */
static int
run(const char *const *args, struct config **cfg, struct captured *cap)
{
    char *argv[32];
    int argc = 0, ret, saved_out, saved_err;
    FILE *out = tmpfile(), *err = tmpfile();
    long n;

    assert_non_null(out);
    assert_non_null(err);
    argv[argc++] = (char *) "vigil-test";
    for (; *args; args++) {
        argv[argc++] = (char *) *args;
    }
    argv[argc] = NULL;

    fflush(stdout);
    fflush(stderr);
    saved_out = dup(STDOUT_FILENO);
    saved_err = dup(STDERR_FILENO);
    assert_true(dup2(fileno(out), STDOUT_FILENO) >= 0);
    assert_true(dup2(fileno(err), STDERR_FILENO) >= 0);
    ret = daemon_parse_args(&desc, argc, argv, cfg);
    fflush(stdout);
    fflush(stderr);
    assert_true(dup2(saved_out, STDOUT_FILENO) >= 0);
    assert_true(dup2(saved_err, STDERR_FILENO) >= 0);
    close(saved_out);
    close(saved_err);

    n = ftell(out);
    cap->out = calloc(1, (size_t) n + 1);
    assert_non_null(cap->out);
    rewind(out);
    assert_int_equal(fread(cap->out, 1, (size_t) n, out), (size_t) n);
    n = ftell(err);
    cap->err = calloc(1, (size_t) n + 1);
    assert_non_null(cap->err);
    rewind(err);
    assert_int_equal(fread(cap->err, 1, (size_t) n, err), (size_t) n);
    fclose(out);
    fclose(err);
    return ret;
}

static void
captured_free(struct captured *cap)
{
    free(cap->out);
    free(cap->err);
}

/* Expects failure with exactly 'message' on stderr. */
static void
expect_error(const char *const *args, const char *message)
{
    struct config *cfg = NULL;
    struct captured cap;
    char expected[600];

    assert_int_equal(run(args, &cfg, &cap), -EINVAL);
    assert_null(cfg);
    snprintf(expected, sizeof expected, "vigil-test: %s\n", message);
    assert_string_equal(cap.err, expected);
    assert_string_equal(cap.out, "");
    captured_free(&cap);
}

static const char *
write_temp(const char *text)
{
    static char path[64];
    int fd;

    snprintf(path, sizeof path, "/tmp/vigil-test-daemon-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    close(fd);
    return path;
}

static void
test_help_and_version(void **state)
{
    static const char *const help[] = { "--help", NULL };
    static const char *const h[] = { "--libvirt.uri=x", "-h", "--bogus",
                                     NULL };
    static const char *const version[] = { "--version", NULL };
    static const char *const v[] = { "-V", NULL };
    struct config *cfg = NULL;
    struct captured cap;

    (void) state;
    assert_int_equal(run(help, &cfg, &cap), 1);
    assert_null(cfg);
    assert_non_null(strstr(cap.out, "Usage: vigil-test [--config FILE]"));
    assert_non_null(strstr(cap.out, "A daemon under test.\n"));
    assert_non_null(strstr(cap.out, "    --libvirt.keepalive_interval=<int> "
                                    "(default: 5)\n"));
    assert_string_equal(cap.err, "");
    captured_free(&cap);

    /* Help wins over what comes after it. */
    assert_int_equal(run(h, &cfg, &cap), 1);
    assert_null(cfg);
    assert_non_null(strstr(cap.out, "Usage: vigil-test"));
    captured_free(&cap);

    assert_int_equal(run(version, &cfg, &cap), 1);
    assert_string_equal(cap.out, "vigil-test " VIGIL_VERSION "\n");
    captured_free(&cap);
    assert_int_equal(run(v, &cfg, &cap), 1);
    assert_string_equal(cap.out, "vigil-test " VIGIL_VERSION "\n");
    captured_free(&cap);
    assert_null(cfg);
}

static void
test_defaults_without_arguments(void **state)
{
    static const char *const none[] = { NULL };
    struct config *cfg = NULL;
    struct captured cap;
    int64_t i = 0;

    (void) state;
    vlog_set_level(VLOG_LEVEL_ERR);
    assert_int_equal(run(none, &cfg, &cap), 0);
    assert_non_null(cfg);
    assert_string_equal(config_get_string(cfg, options, "libvirt", "uri"),
                        "qemu:///system");
    assert_int_equal(config_get_int(cfg, options, "libvirt",
                                    "keepalive_interval", &i), 0);
    assert_int_equal(i, 5);
    /* [DEFAULT] log_level's default applies. */
    assert_int_equal(vlog_get_level(), VLOG_LEVEL_INFO);
    captured_free(&cap);
    config_free(cfg);
}

static void
test_overrides(void **state)
{
    static const char *const both[] = {
        "--libvirt.uri=test:///default", "--libvirt.keepalive_interval", "30",
        "--heartbeat.enabled", "yes", "--log-level", "debug", NULL,
    };
    static const char *const with_equals[] = {
        "--libvirt.uri=a=b", "--libvirt.uri=last", NULL,
    };
    struct config *cfg = NULL;
    struct captured cap;
    int64_t i = 0;
    bool b = false;

    (void) state;
    assert_int_equal(run(both, &cfg, &cap), 0);
    assert_string_equal(config_get_string(cfg, options, "libvirt", "uri"),
                        "test:///default");
    assert_int_equal(config_get_int(cfg, options, "libvirt",
                                    "keepalive_interval", &i), 0);
    assert_int_equal(i, 30);
    assert_int_equal(config_get_bool(cfg, options, "heartbeat", "enabled",
                                     &b), 0);
    assert_true(b);
    assert_int_equal(vlog_get_level(), VLOG_LEVEL_DEBUG);
    captured_free(&cap);
    config_free(cfg);

    /* Only the first '=' splits; the last flag wins. */
    cfg = NULL;
    assert_int_equal(run(with_equals, &cfg, &cap), 0);
    assert_string_equal(config_get_string(cfg, options, "libvirt", "uri"),
                        "last");
    captured_free(&cap);
    config_free(cfg);
}

static void
test_config_file_precedence(void **state)
{
    const char *path = write_temp("[DEFAULT]\nlog_level = warning\n"
                                  "[libvirt]\nuri = from-file\n"
                                  "keepalive_interval = 11\n");
    char saved_path[64];
    const char *file_only[] = { "--config", saved_path, NULL };
    const char *file_and_flag[] = {
        "--libvirt.uri", "from-flag", "-c", saved_path, NULL,
    };
    const char *flag_level[] = {
        "-c", saved_path, "--log-level", "error", NULL,
    };
    struct config *cfg = NULL;
    struct captured cap;
    int64_t i = 0;

    (void) state;
    snprintf(saved_path, sizeof saved_path, "%s", path);
    assert_int_equal(run(file_only, &cfg, &cap), 0);
    assert_string_equal(config_get_string(cfg, options, "libvirt", "uri"),
                        "from-file");
    assert_int_equal(vlog_get_level(), VLOG_LEVEL_WARN);
    captured_free(&cap);
    config_free(cfg);

    /* A flag beats the file wherever it stands on the line. */
    cfg = NULL;
    assert_int_equal(run(file_and_flag, &cfg, &cap), 0);
    assert_string_equal(config_get_string(cfg, options, "libvirt", "uri"),
                        "from-flag");
    assert_int_equal(config_get_int(cfg, options, "libvirt",
                                    "keepalive_interval", &i), 0);
    assert_int_equal(i, 11);
    captured_free(&cap);
    config_free(cfg);

    /* --log-level beats [DEFAULT] log_level. */
    cfg = NULL;
    assert_int_equal(run(flag_level, &cfg, &cap), 0);
    assert_int_equal(vlog_get_level(), VLOG_LEVEL_ERR);
    captured_free(&cap);
    config_free(cfg);
    unlink(saved_path);
}

static void
test_errors(void **state)
{
    static const char *const bogus[] = { "--bogus", NULL };
    static const char *const positional[] = { "extra", NULL };
    static const char *const short_flag[] = { "-x", NULL };
    static const char *const bad_int[] = {
        "--libvirt.keepalive_interval=soon", NULL,
    };
    static const char *const bad_bool[] = {
        "--heartbeat.enabled", "perhaps", NULL,
    };
    static const char *const unknown_key[] = { "--libvirt.nope=1", NULL };
    static const char *const unknown_section[] = { "--nope.uri=1", NULL };
    static const char *const missing_value[] = { "--libvirt.uri", NULL };
    static const char *const missing_config[] = { "--config", NULL };
    static const char *const missing_level[] = { "--log-level", NULL };
    static const char *const bad_level[] = { "--log-level", "loud", NULL };
    static const char *const no_file[] = {
        "--config", "/nonexistent/vigil.conf", NULL,
    };
    static const char *const bad_name[] = { "--libvirt.a b=1", NULL };
    char path_copy[64], expected[256];
    const char *file_args[] = { "-c", path_copy, NULL };

    (void) state;
    expect_error(bogus, "unknown argument '--bogus' (try --help)");
    expect_error(positional, "unknown argument 'extra' (try --help)");
    expect_error(short_flag, "unknown argument '-x' (try --help)");
    expect_error(bad_int, "command line: [libvirt] keepalive_interval: "
                 "expected an integer in [1, 3600], got 'soon'");
    expect_error(bad_bool, "command line: [heartbeat] enabled: expected true "
                 "or false, got 'perhaps'");
    expect_error(unknown_key, "command line: [libvirt] nope: unknown option");
    expect_error(unknown_section, "command line: [nope] uri: unknown option");
    expect_error(missing_value, "--libvirt.uri: missing value");
    expect_error(missing_config, "--config: missing value");
    expect_error(missing_level, "--log-level: missing value");
    expect_error(bad_level, "[DEFAULT] log_level: unknown level 'loud' "
                 "(error, warning, info or debug)");
    expect_error(no_file, "/nonexistent/vigil.conf: cannot open: No such "
                 "file or directory");
    expect_error(bad_name, "command line: [libvirt] a b: invalid section or "
                 "key name");

    /* A bad value in the file names the file, the line and the key. */
    snprintf(path_copy, sizeof path_copy, "%s",
             write_temp("[libvirt]\n\nkeepalive_interval = 0\n"));
    snprintf(expected, sizeof expected, "%s:3: [libvirt] keepalive_interval: "
             "expected an integer in [1, 3600], got '0'", path_copy);
    expect_error(file_args, expected);
    unlink(path_copy);

    /* So does a bad log level from the file. */
    snprintf(path_copy, sizeof path_copy, "%s",
             write_temp("[DEFAULT]\nlog_level = chatty\n"));
    expect_error(file_args, "[DEFAULT] log_level: unknown level 'chatty' "
                 "(error, warning, info or debug)");
    unlink(path_copy);
}

static void
test_split_hostport(void **state)
{
    static const struct {
        const char *text;
        const char *host;
        unsigned short port;
    } good[] = {
        { "127.0.0.1:8080", "127.0.0.1", 8080 },
        { "localhost:0", "localhost", 0 },
        { "compute-1.example.org:65535", "compute-1.example.org", 65535 },
        { "[::1]:12345", "::1", 12345 },
        { "[fe80::1%eth0]:8805", "fe80::1%eth0", 8805 },
        { "[2001:db8::7]:1", "2001:db8::7", 1 },
    };
    static const char *const bad[] = {
        "", "host", "host:", ":80", "[::1]", "[::1]80", "[::1]:", "[]:80",
        "[::1:80", "host:65536", "host:-1", "host:80x", "host:0x50",
        "host: 80", "host:+80", "::1:80", "fe80::1:8080", "host:99999999999",
    };
    char host[64];
    unsigned short port;

    (void) state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        port = 1;
        memset(host, 'x', sizeof host);
        assert_int_equal(daemon_split_hostport(good[i].text, host, sizeof host,
                                               &port), 0);
        assert_string_equal(host, good[i].host);
        assert_int_equal(port, good[i].port);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(host, "untouched");
        port = 7;
        if (daemon_split_hostport(bad[i], host, sizeof host, &port) !=
            -EINVAL) {
            print_error("'%s' was accepted as '%s' port %u\n", bad[i], host,
                        port);
            fail();
        }
        assert_string_equal(host, "untouched");
        assert_int_equal(port, 7);
    }
    /* The host must fit: 'host_size' - 1 bytes. */
    assert_int_equal(daemon_split_hostport("abcd:1", host, 5, &port), 0);
    assert_string_equal(host, "abcd");
    assert_int_equal(daemon_split_hostport("abcde:1", host, 5, &port),
                     -EINVAL);
    assert_int_equal(daemon_split_hostport("[::abcd]:1", host, 6, &port),
                     -EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_defaults_without_arguments),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_config_file_precedence),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_split_hostport),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
