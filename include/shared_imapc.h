#ifndef SHARED_IMAPC_H
#define SHARED_IMAPC_H

/* The C ABI of the shared_imapc Rust core, used by c-shim/ and by the C test
   harness in tests/c/. Every function is safe to call with NULL where a
   pointer is optional, never unwinds a Rust panic into C, and returns strings
   that the caller frees with sic_string_free(). */

struct module;
struct sic_settings;

/* Dovecot module entry points (the module file is
   lib30_shared_imapc_plugin.so). */
extern const char *shared_imapc_plugin_version;
void shared_imapc_plugin_init(struct module *module);
void shared_imapc_plugin_deinit(void);

/* Parse and validate the plugin {} settings whose keys start with
   "shared_imapc_". keys[i] = values[i], count pairs. Returns the settings, or
   NULL with *error_r set to a message naming the bad key and value. */
struct sic_settings *
sic_settings_parse(const char *const *keys, const char *const *values,
		   unsigned int count, char **error_r);
/* The effective settings, one line, password masked (for mail_debug). */
char *sic_settings_describe(const struct sic_settings *set);
/* The settings group that applies to a namespace prefix: 0 for the
   unnumbered defaults, N for shared_imapc_namespaceN. */
unsigned int sic_settings_group_for(const struct sic_settings *set,
				    const char *namespace_prefix);
void sic_settings_free(struct sic_settings *set);

void sic_string_free(char *str);

#endif
