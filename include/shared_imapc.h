#ifndef SHARED_IMAPC_H
#define SHARED_IMAPC_H

/* The C ABI of the shared_imapc Rust core, used by c-shim/ and by the C test
   harness in tests/c/. Every function is safe to call with NULL where a
   pointer is optional, never unwinds a Rust panic into C, and returns strings
   that the caller frees with sic_string_free(). */

#include <stdint.h>

struct module;
struct sic_settings;
struct sic_session;

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

/* A logged-in session with owner's folders on the remote that the settings
   name for namespace_prefix, with the configured master user. Returns NULL
   with *error_r set when the settings lack something or the login fails. */
struct sic_session *
sic_session_open(const struct sic_settings *set, const char *namespace_prefix,
		 const char *owner, char **error_r);

struct sic_mailbox_state {
	unsigned int exists;
	unsigned int uidvalidity;
	unsigned int uidnext;
	uint64_t highest_modseq;
	int read_only;
};
/* SELECT (or EXAMINE when read_only) the folder; 0 on success, -1 with
   *error_r set (e.g. the server's NO). */
int sic_session_select(struct sic_session *session, const char *mailbox,
		       int read_only, struct sic_mailbox_state *state_r,
		       char **error_r);
void sic_session_free(struct sic_session *session);

/* shared_dict engine. uri is what follows "shared_dict:". */
struct sic_dict;
struct sic_dict_iter;
struct sic_dict_txn;
struct sic_dict *sic_dict_open(const char *uri, char **error_r);
void sic_dict_free(struct sic_dict *dict);
/* 1 found (*value_r set), 0 missing, -1 error (*error_r set). username is
   needed for priv/ keys. */
int sic_dict_lookup(struct sic_dict *dict, const char *username,
		    const char *key, char **value_r, char **error_r);
/* flags: enum dict_iterate_flags. NULL with *error_r on failure. */
struct sic_dict_iter *
sic_dict_iterate(struct sic_dict *dict, const char *username,
		 const char *path, unsigned int flags, char **error_r);
/* 1 with *key_r and *value_r valid until the next call, 0 at the end. */
int sic_dict_iter_next(struct sic_dict_iter *iter, const char **key_r,
		       const char **value_r);
void sic_dict_iter_free(struct sic_dict_iter *iter);
struct sic_dict_txn *sic_dict_txn_new(void);
void sic_dict_txn_set(struct sic_dict_txn *txn, const char *key,
		      const char *value);
void sic_dict_txn_unset(struct sic_dict_txn *txn, const char *key);
void sic_dict_txn_inc(struct sic_dict_txn *txn, const char *key,
		      long long diff);
/* Commits and frees txn: 1 ok, 0 ok but an atomic_inc found no key,
   -1 failed with nothing applied (*error_r set). */
int sic_dict_txn_commit(struct sic_dict *dict, struct sic_dict_txn *txn,
			const char *username, char **error_r);
void sic_dict_txn_free(struct sic_dict_txn *txn);
/* The next warning to log, or NULL. */
char *sic_dict_take_warning(struct sic_dict *dict);

void sic_string_free(char *str);

#endif
