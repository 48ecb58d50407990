/* libFuzzer target for the parsers of what OpenStack answers the inspector
 * (outside input: a compromised or broken service must not crash it):
 * Keystone's token answer and catalog (keystone_parse_token), Nova's
 * version document, os-services and servers/detail pages, Neutron's port
 * list, and a monitor's "domains" detail merged into the host -> VM map.
 *
 * The first byte picks the parser, the rest is its input. Beyond "no
 * crash, no leak, no undefined behaviour" it checks that outputs are
 * bounded and consistent: catalog URLs are http(s) without a trailing '/',
 * a selected microversion is within the cloud's maximum, parsed strings
 * are NUL-terminated within their fields, and a merged domain list leaves
 * the host with exactly the listed (distinct) UUIDs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inventory.h"
#include "keystone_private.h"
#include "neutron.h"
#include "nova.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_keystone(const char *body, size_t size)
{
    struct keystone_catalog *c = NULL;
    int64_t lifetime = 0;
    char err[256];

    if (keystone_parse_token(body, size, &lifetime, &c, err, sizeof err)) {
        return;
    }
    if (lifetime <= 0 || !c || c->length > KEYSTONE_MAX_ENDPOINTS) {
        abort();
    }
    for (size_t i = 0; i < c->length; i++) {
        const char *url = c->endpoints[i].url;
        size_t n = strlen(url);

        if ((strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
            || (n && url[n - 1] == '/')) {
            abort();
        }
        if (!keystone_catalog_find(c, c->endpoints[i].type,
                                   c->endpoints[i].interface,
                                   c->endpoints[i].region)) {
            abort();
        }
    }
    keystone_catalog_free(c);
}

static void
fuzz_nova_version(const char *body, size_t size)
{
    char max[NOVA_VERSION_SIZE], version[NOVA_VERSION_SIZE];
    enum nova_force_down_api api;
    unsigned int a, b, c, d;

    if (nova_parse_version_document(body, size, max)) {
        return;
    }
    if (nova_select_microversion(max, NULL, version, &api)) {
        return;
    }
    if (nova_parse_version(version, &a, &b) || a != 2) {
        abort();
    }
    if (max[0] && (nova_parse_version(max, &c, &d) || b > d)) {
        abort();
    }
}

static void
fuzz_nova_services(const char *body, size_t size)
{
    struct nova_service *s = NULL;
    size_t n = 0;

    if (nova_parse_services(body, size, &s, &n)) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!s[i].id[0] || !s[i].host[0]
            || strnlen(s[i].host, sizeof s[i].host) == sizeof s[i].host) {
            abort();
        }
    }
    free(s);
}

static void
fuzz_nova_servers(const char *body, size_t size)
{
    struct nova_server *s = NULL;
    struct inventory *inv;
    size_t n = 0;
    bool more;

    if (nova_parse_servers(body, size, &s, &n, &more)) {
        return;
    }
    inv = inventory_new(NULL);
    if (inv) {
        inventory_sync_begin(inv);
        inventory_apply_servers(inv, s, n, NULL);
        inventory_sync_end(inv);
        if (inventory_servers(inv) > n) {
            abort();
        }
        inventory_free(inv);
    }
    free(s);
}

static void
fuzz_neutron(const char *body, size_t size)
{
    char (*ids)[NEUTRON_ID_SIZE] = NULL;
    size_t n = 0;

    if (neutron_parse_ports(body, size, &ids, &n)) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (!ids[i][0]) {
            abort();
        }
    }
    free(ids);
}

static void
fuzz_domains(const char *text)
{
    struct inventory *inv = inventory_new(NULL);

    if (!inv) {
        return;
    }
    inventory_set(inv, "d0000000-0000-4000-8000-000000000000", "h");
    if (inventory_merge_domains(inv, "h", text, NULL) == 0) {
        char (*uuids)[INVENTORY_UUID_SIZE];
        size_t n = inventory_count(inv, "h");

        uuids = calloc(n ? n : 1, sizeof *uuids);
        if (uuids && inventory_list(inv, "h", uuids, n) != n) {
            abort();
        }
        for (size_t i = 0; uuids && i < n; i++) {
            if (!strstr(text, uuids[i]) && !strcasestr(text, uuids[i])) {
                abort();
            }
        }
        free(uuids);
    }
    inventory_free(inv);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;

    if (size < 1 || size > 256 * 1024) {
        return 0;
    }
    text = malloc(size);
    if (!text) {
        return 0;
    }
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 6) {
    case 0:
        fuzz_keystone(text, size - 1);
        break;
    case 1:
        fuzz_nova_version(text, size - 1);
        break;
    case 2:
        fuzz_nova_services(text, size - 1);
        break;
    case 3:
        fuzz_nova_servers(text, size - 1);
        break;
    case 4:
        fuzz_neutron(text, size - 1);
        break;
    default:
        fuzz_domains(text);
        break;
    }
    free(text);
    return 0;
}
