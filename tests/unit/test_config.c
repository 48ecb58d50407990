/* Unit tests for common/config: INI parsing (sections, comments, white
 * space, overrides), validation against an option table with messages that
 * name file, line and key, the size limits, the typed lookups and their
 * defaults, and loading files. */
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

#include "config.h"

static const struct config_option options[] = {
    { "DEFAULT", "log_level", CONFIG_STRING, "info", 0, 0, "Log level." },
    { "libvirt", "uri", CONFIG_STRING, "qemu:///system", 0, 0, "URI." },
    { "libvirt", "keepalive_interval", CONFIG_INT, "5", 1, 3600,
      "Seconds." },
    { "libvirt", "reconnect", CONFIG_BOOL, "true", 0, 0, "Reconnect." },
    { "inspector", "url", CONFIG_STRING, NULL, 0, 0, "Inspector URL." },
    { "inspector", "timeout_ms", CONFIG_INT, NULL, -10, INT64_MAX,
      "Timeout." },
    { "inspector", "enabled", CONFIG_BOOL, NULL, 0, 0, "Enabled." },
    { NULL, NULL, CONFIG_STRING, NULL, 0, 0, NULL },
};

static struct config *
parse_ok(const char *text)
{
    struct config *cfg = config_new();
    struct config_error err = { "" };

    assert_non_null(cfg);
    if (config_parse(cfg, text, strlen(text), "test.conf", &err)) {
        print_error("rejected: %s\n", err.text);
        fail();
    }
    return cfg;
}

/* Parses 'text' (of 'size' bytes), expecting 'ret' and 'message'. */
static void
parse_bad(const char *text, size_t size, int ret, const char *message)
{
    struct config *cfg = config_new();
    struct config_error err = { "" };

    assert_non_null(cfg);
    assert_int_equal(config_parse(cfg, text, size, "test.conf", &err), ret);
    assert_string_equal(err.text, message);
    config_free(cfg);
}

/* Parses then validates 'text', expecting validation to fail with
 * 'message'. */
static void
validate_bad(const char *text, const char *message)
{
    struct config *cfg = parse_ok(text);
    struct config_error err = { "" };

    assert_int_equal(config_validate(cfg, options, &err), -EINVAL);
    assert_string_equal(err.text, message);
    config_free(cfg);
}

static void
test_parse_sections_comments_whitespace(void **state)
{
    static const char text[] =
        "# Vigil monitor\n"
        "; another comment style\n"
        "\n"
        "[DEFAULT]\n"
        "log_level=debug\n"
        "   \t\n"
        "  [ libvirt ]  \r\n"
        "uri   =   test:///default   \r\n"
        "\tkeepalive_interval = 30\n"
        "    # indented comment\n"
        "reconnect = off\n"
        "[inspector]\n"
        "url = http://127.0.0.1:12345/events?a=b#not-a-comment\n"
        "timeout_ms =\n"
        "enabled = YES";   /* no final newline */
    struct config *cfg = parse_ok(text);
    struct config_error err = { "" };
    int64_t i;
    bool b;

    (void) state;
    /* Lines are counted across comments, blanks and CRLF endings. */
    assert_int_equal(config_validate(cfg, options, &err), -EINVAL);
    assert_string_equal(err.text, "test.conf:14: [inspector] timeout_ms: "
                        "expected an integer in [-10, 9223372036854775807], "
                        "got ''");
    assert_string_equal(config_get_string(cfg, options, "DEFAULT",
                                          "log_level"), "debug");
    assert_string_equal(config_get_string(cfg, options, "libvirt", "uri"),
                        "test:///default");
    assert_int_equal(config_get_int(cfg, options, "libvirt",
                                    "keepalive_interval", &i), 0);
    assert_int_equal(i, 30);
    assert_int_equal(config_get_bool(cfg, options, "libvirt", "reconnect",
                                     &b), 0);
    assert_false(b);
    assert_string_equal(config_get_string(cfg, options, "inspector", "url"),
                        "http://127.0.0.1:12345/events?a=b#not-a-comment");
    /* An empty value is a value (and not an integer). */
    assert_string_equal(config_get_string(cfg, options, "inspector",
                                          "timeout_ms"), "");
    assert_int_equal(config_get_int(cfg, options, "inspector", "timeout_ms",
                                    &i), -EINVAL);
    assert_int_equal(config_get_bool(cfg, options, "inspector", "enabled",
                                     &b), 0);
    assert_true(b);
    config_free(cfg);
}

static void
test_override(void **state)
{
    struct config *cfg = parse_ok("[libvirt]\nuri = a\nuri = b\n"
                                  "keepalive_interval = 7\n");
    struct config_error err = { "" };
    int64_t i;

    (void) state;
    assert_string_equal(config_get_string(cfg, options, "libvirt", "uri"),
                        "b");
    /* A second text adds to and replaces the first. */
    assert_int_equal(config_parse(cfg, "[libvirt]\nuri = c\n", 18, "more.conf",
                                  &err), 0);
    assert_string_equal(config_get_string(cfg, options, "libvirt", "uri"),
                        "c");
    assert_int_equal(config_get_int(cfg, options, "libvirt",
                                    "keepalive_interval", &i), 0);
    assert_int_equal(i, 7);
    /* The command line replaces both, and is named in errors. */
    assert_int_equal(config_set(cfg, "libvirt", "keepalive_interval", "never",
                                "command line", &err), 0);
    assert_int_equal(config_validate(cfg, options, &err), -EINVAL);
    assert_string_equal(err.text, "command line: [libvirt] keepalive_interval:"
                        " expected an integer in [1, 3600], got 'never'");
    assert_int_equal(config_set(cfg, "libvirt", "keepalive_interval", "9",
                                "command line", &err), 0);
    assert_int_equal(config_validate(cfg, options, &err), 0);
    assert_int_equal(config_get_int(cfg, options, "libvirt",
                                    "keepalive_interval", &i), 0);
    assert_int_equal(i, 9);
    /* Names are checked on set too. */
    assert_int_equal(config_set(cfg, "libvirt", "bad key", "1",
                                "command line", &err), -EINVAL);
    assert_string_equal(err.text, "command line: [libvirt] bad key: invalid "
                        "section or key name");
    config_free(cfg);
}

static void
test_validate_errors(void **state)
{
    (void) state;
    validate_bad("[libvirt]\nuri = x\n\n[libvirt]\nbogus = 1\n",
                 "test.conf:5: [libvirt] bogus: unknown option");
    validate_bad("[nosuch]\nuri = x\n",
                 "test.conf:2: [nosuch] uri: unknown option");
    /* Keys are case-sensitive, as in oslo.config. */
    validate_bad("[libvirt]\nURI = x\n",
                 "test.conf:2: [libvirt] URI: unknown option");
    validate_bad("[libvirt]\n\nkeepalive_interval = soon\n",
                 "test.conf:3: [libvirt] keepalive_interval: expected an "
                 "integer in [1, 3600], got 'soon'");
    validate_bad("[libvirt]\nkeepalive_interval = 0\n",
                 "test.conf:2: [libvirt] keepalive_interval: expected an "
                 "integer in [1, 3600], got '0'");
    validate_bad("[libvirt]\nkeepalive_interval = 3601\n",
                 "test.conf:2: [libvirt] keepalive_interval: expected an "
                 "integer in [1, 3600], got '3601'");
    validate_bad("[libvirt]\nkeepalive_interval = 5s\n",
                 "test.conf:2: [libvirt] keepalive_interval: expected an "
                 "integer in [1, 3600], got '5s'");
    validate_bad("[libvirt]\nkeepalive_interval = 0x10\n",
                 "test.conf:2: [libvirt] keepalive_interval: expected an "
                 "integer in [1, 3600], got '0x10'");
    validate_bad("[inspector]\ntimeout_ms = 99999999999999999999\n",
                 "test.conf:2: [inspector] timeout_ms: expected an integer "
                 "in [-10, 9223372036854775807], got '99999999999999999999'");
    validate_bad("[libvirt]\nreconnect = maybe\n",
                 "test.conf:2: [libvirt] reconnect: expected true or false, "
                 "got 'maybe'");
    validate_bad("[libvirt]\nreconnect =\n",
                 "test.conf:2: [libvirt] reconnect: expected true or false, "
                 "got ''");
}

static void
test_int_and_bool_forms(void **state)
{
    static const char *const yes[] = { "true", "TRUE", "yes", "on", "1" };
    static const char *const no[] = { "false", "No", "OFF", "0" };
    struct config *cfg = config_new();
    struct config_error err = { "" };
    int64_t i;
    bool b;

    (void) state;
    assert_non_null(cfg);
    for (size_t k = 0; k < sizeof yes / sizeof yes[0]; k++) {
        assert_int_equal(config_set(cfg, "inspector", "enabled", yes[k], "t",
                                    &err), 0);
        b = false;
        assert_int_equal(config_get_bool(cfg, options, "inspector", "enabled",
                                         &b), 0);
        assert_true(b);
    }
    for (size_t k = 0; k < sizeof no / sizeof no[0]; k++) {
        assert_int_equal(config_set(cfg, "inspector", "enabled", no[k], "t",
                                    &err), 0);
        b = true;
        assert_int_equal(config_get_bool(cfg, options, "inspector", "enabled",
                                         &b), 0);
        assert_false(b);
    }
    assert_int_equal(config_set(cfg, "inspector", "enabled", "2", "t", &err),
                     0);
    assert_int_equal(config_get_bool(cfg, options, "inspector", "enabled",
                                     &b), -EINVAL);
    assert_int_equal(config_set(cfg, "inspector", "timeout_ms", "-10", "t",
                                &err), 0);
    assert_int_equal(config_get_int(cfg, options, "inspector", "timeout_ms",
                                    &i), 0);
    assert_int_equal(i, -10);
    assert_int_equal(config_set(cfg, "inspector", "timeout_ms", "-11", "t",
                                &err), 0);
    i = 77;
    assert_int_equal(config_get_int(cfg, options, "inspector", "timeout_ms",
                                    &i), -EINVAL);
    assert_int_equal(i, 77);
    assert_int_equal(config_set(cfg, "inspector", "timeout_ms",
                                "9223372036854775807", "t", &err), 0);
    assert_int_equal(config_get_int(cfg, options, "inspector", "timeout_ms",
                                    &i), 0);
    assert_int_equal(i, INT64_MAX);
    config_free(cfg);
}

static void
test_defaults(void **state)
{
    struct config *cfg = config_new();
    int64_t i = 0;
    bool b = false;

    (void) state;
    assert_non_null(cfg);
    assert_string_equal(config_get_string(cfg, options, "libvirt", "uri"),
                        "qemu:///system");
    assert_int_equal(config_get_int(cfg, options, "libvirt",
                                    "keepalive_interval", &i), 0);
    assert_int_equal(i, 5);
    assert_int_equal(config_get_bool(cfg, options, "libvirt", "reconnect",
                                     &b), 0);
    assert_true(b);
    /* A NULL configuration gives the defaults too. */
    assert_string_equal(config_get_string(NULL, options, "DEFAULT",
                                          "log_level"), "info");
    /* Unset without a default. */
    assert_null(config_get_string(cfg, options, "inspector", "url"));
    assert_int_equal(config_get_int(cfg, options, "inspector", "timeout_ms",
                                    &i), -ENOENT);
    assert_int_equal(config_get_bool(cfg, options, "inspector", "enabled",
                                     &b), -ENOENT);
    /* Undeclared. */
    assert_null(config_get_string(cfg, options, "libvirt", "nope"));
    assert_int_equal(config_get_int(cfg, options, "nope", "uri", &i),
                     -ENOENT);
    assert_int_equal(config_get_bool(cfg, options, "libvirt", "uri_x", &b),
                     -ENOENT);
    config_free(cfg);
}

static void
test_syntax_errors(void **state)
{
    static const char partial[] = "[libvirt]\nuri = kept\nnot a setting\n"
                                  "keepalive_interval = 9\n";
    struct config *cfg;
    struct config_error err = { "" };

    (void) state;
    parse_bad("port = 1\n[libvirt]\n", 17, -EINVAL,
              "test.conf:1: port: setting outside of any [section]");
    parse_bad("\n\n[libvirt\nuri = x\n", 19, -EINVAL,
              "test.conf:3: malformed section header");
    parse_bad("[libvirt] uri = x\n", 18, -EINVAL,
              "test.conf:1: malformed section header");
    parse_bad("[a]b]\n", 6, -EINVAL, "test.conf:1: malformed section header");
    parse_bad("[]\n", 3, -EINVAL, "test.conf:1: invalid section name ''");
    parse_bad("[lib virt]\n", 11, -EINVAL,
              "test.conf:1: invalid section name 'lib virt'");
    parse_bad("[libvirt]\nuri\n", 14, -EINVAL,
              "test.conf:2: expected 'key = value' or '[section]'");
    parse_bad("[libvirt]\n= x\n", 14, -EINVAL,
              "test.conf:2: [libvirt] : invalid section or key name");
    parse_bad("[libvirt]\nkeep alive = x\n", 25, -EINVAL,
              "test.conf:2: [libvirt] keep alive: invalid section or key "
              "name");

    /* The entries before the bad line stay. */
    cfg = config_new();
    assert_non_null(cfg);
    assert_int_equal(config_parse(cfg, partial, sizeof partial - 1, "p.conf",
                                  &err), -EINVAL);
    assert_string_equal(err.text,
                        "p.conf:3: expected 'key = value' or '[section]'");
    assert_string_equal(config_get_string(cfg, options, "libvirt", "uri"),
                        "kept");
    assert_string_equal(config_get_string(cfg, options, "libvirt",
                                          "keepalive_interval"), "5");
    config_free(cfg);

    /* A NULL error is allowed. */
    cfg = config_new();
    assert_non_null(cfg);
    assert_int_equal(config_parse(cfg, "x", 1, "n", NULL), -EINVAL);
    config_free(cfg);
}

static void
test_name_lengths(void **state)
{
    char text[256], expected[256];
    char name[CONFIG_MAX_NAME_LENGTH + 2];
    struct config *cfg;

    (void) state;
    memset(name, 's', CONFIG_MAX_NAME_LENGTH);
    name[CONFIG_MAX_NAME_LENGTH] = '\0';
    snprintf(text, sizeof text, "[%s]\n%s = v\n", name, name);
    cfg = parse_ok(text);
    config_free(cfg);

    strcat(name, "s");
    assert_int_equal(strlen(name), CONFIG_MAX_NAME_LENGTH + 1);
    snprintf(text, sizeof text, "[%s]\n", name);
    snprintf(expected, sizeof expected,
             "test.conf:1: invalid section name '%s'", name);
    parse_bad(text, strlen(text), -EINVAL, expected);
    snprintf(text, sizeof text, "[a]\n%s = v\n", name);
    snprintf(expected, sizeof expected,
             "test.conf:2: [a] %s: invalid section or key name", name);
    parse_bad(text, strlen(text), -EINVAL, expected);
}

static void
test_limits(void **state)
{
    size_t size = CONFIG_MAX_LINE_LENGTH + 32;
    char *text = malloc(CONFIG_MAX_FILE_SIZE + 2);
    char message[128];
    struct config *cfg;
    struct config_error err = { "" };

    (void) state;
    assert_non_null(text);
    /* A line of exactly CONFIG_MAX_LINE_LENGTH bytes passes. */
    memcpy(text, "[a]\nk = ", 8);
    memset(text + 8, 'v', size);
    text[4 + CONFIG_MAX_LINE_LENGTH] = '\n';
    cfg = config_new();
    assert_non_null(cfg);
    assert_int_equal(config_parse(cfg, text, 5 + CONFIG_MAX_LINE_LENGTH, "t",
                                  &err), 0);
    assert_int_equal(strlen(config_get_string(cfg, (struct config_option[]) {
        { "a", "k", CONFIG_STRING, NULL, 0, 0, "" },
        { NULL, NULL, CONFIG_STRING, NULL, 0, 0, NULL } }, "a", "k")),
        CONFIG_MAX_LINE_LENGTH - 4);
    config_free(cfg);
    /* One more byte does not. */
    text[4 + CONFIG_MAX_LINE_LENGTH] = 'v';
    text[5 + CONFIG_MAX_LINE_LENGTH] = '\n';
    parse_bad(text, 6 + CONFIG_MAX_LINE_LENGTH, -EINVAL,
              "test.conf:2: line longer than 4096 bytes");
    /* Also when the long line is the last, without a newline. */
    parse_bad(text, 5 + CONFIG_MAX_LINE_LENGTH, -EINVAL,
              "test.conf:2: line longer than 4096 bytes");

    /* A NUL byte anywhere in a line. */
    parse_bad("[a]\nk = v\0w\n", 12, -EINVAL, "test.conf:2: NUL byte in line");
    parse_bad("[a]\n\0\n", 6, -EINVAL, "test.conf:2: NUL byte in line");

    /* Up to CONFIG_MAX_FILE_SIZE bytes of comments pass; one more fails. */
    memset(text, '\n', CONFIG_MAX_FILE_SIZE + 1);
    cfg = config_new();
    assert_non_null(cfg);
    assert_int_equal(config_parse(cfg, text, CONFIG_MAX_FILE_SIZE, "t", &err),
                     0);
    config_free(cfg);
    snprintf(message, sizeof message, "test.conf: larger than %d bytes",
             CONFIG_MAX_FILE_SIZE);
    parse_bad(text, CONFIG_MAX_FILE_SIZE + 1, -EFBIG, message);
    free(text);
}

static void
test_entry_limit(void **state)
{
    struct config *cfg = config_new();
    struct config_error err = { "" };
    char key[32];

    (void) state;
    assert_non_null(cfg);
    for (int i = 0; i < CONFIG_MAX_ENTRIES; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(config_set(cfg, "s", key, "v", "t", &err), 0);
    }
    assert_int_equal(config_set(cfg, "s", "one_more", "v", "t", &err),
                     -E2BIG);
    assert_string_equal(err.text, "t: more than 1024 settings");
    /* Replacing an existing entry still works at the limit. */
    assert_int_equal(config_set(cfg, "s", "k0", "w", "t", &err), 0);
    config_free(cfg);
    config_free(NULL);
}

/* Writes 'size' bytes of 'text' to a new temporary file; returns its path
 * (static storage). */
static const char *
write_temp(const char *text, size_t size)
{
    static char path[64];
    int fd;

    snprintf(path, sizeof path, "/tmp/vigil-test-config-XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, size), (ssize_t) size);
    close(fd);
    return path;
}

static void
test_load_file(void **state)
{
    static const char text[] = "[libvirt]\nuri = test:///default\n"
                               "keepalive_interval = x\n";
    struct config *cfg = config_new();
    struct config_error err = { "" };
    char expected[256];
    const char *path;
    char *big;

    (void) state;
    assert_non_null(cfg);
    path = write_temp(text, sizeof text - 1);
    assert_int_equal(config_load_file(cfg, path, &err), 0);
    assert_string_equal(config_get_string(cfg, options, "libvirt", "uri"),
                        "test:///default");
    /* Validation names the real path and line. */
    assert_int_equal(config_validate(cfg, options, &err), -EINVAL);
    snprintf(expected, sizeof expected, "%s:3: [libvirt] keepalive_interval: "
             "expected an integer in [1, 3600], got 'x'", path);
    assert_string_equal(err.text, expected);
    unlink(path);

    /* Missing file. */
    assert_int_equal(config_load_file(cfg, "/nonexistent/vigil.conf", &err),
                     -ENOENT);
    assert_string_equal(err.text, "/nonexistent/vigil.conf: cannot open: "
                        "No such file or directory");

    /* A directory opens but cannot be read. */
    assert_int_equal(config_load_file(cfg, "/tmp", &err), -EIO);
    assert_string_equal(err.text, "/tmp: read error");

    /* Too big. */
    big = malloc(CONFIG_MAX_FILE_SIZE + 1);
    assert_non_null(big);
    memset(big, '#', CONFIG_MAX_FILE_SIZE + 1);
    path = write_temp(big, CONFIG_MAX_FILE_SIZE + 1);
    assert_int_equal(config_load_file(cfg, path, &err), -EFBIG);
    snprintf(expected, sizeof expected, "%s: larger than %d bytes", path,
             CONFIG_MAX_FILE_SIZE);
    assert_string_equal(err.text, expected);
    unlink(path);
    free(big);
    config_free(cfg);
}

static void
test_print_help(void **state)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);

    (void) state;
    assert_non_null(out);
    config_print_help(options, out);
    fclose(out);
    assert_non_null(strstr(text, "\n  [libvirt]\n"
                           "    --libvirt.uri=<string> (default: "
                           "qemu:///system)\n        URI.\n"));
    assert_non_null(strstr(text, "    --libvirt.keepalive_interval=<int> "
                           "(default: 5)\n"));
    assert_non_null(strstr(text, "    --libvirt.reconnect=<bool> (default: "
                           "true)\n"));
    assert_non_null(strstr(text, "    --inspector.url=<string>\n"
                           "        Inspector URL.\n"));
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_sections_comments_whitespace),
        cmocka_unit_test(test_override),
        cmocka_unit_test(test_validate_errors),
        cmocka_unit_test(test_int_and_bool_forms),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_name_lengths),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_entry_limit),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_print_help),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
