#ifndef SHARED_IMAPC_H
#define SHARED_IMAPC_H

/* The C ABI of the shared_imapc Rust core, used by c-shim/ and by the C test
   harness in tests/c/. Every function is safe to call with NULL where a
   pointer is optional, never unwinds a Rust panic into C, and returns strings
   that the caller frees with sic_string_free(). */

#include <stddef.h>
#include <stdint.h>

struct module;
struct sic_settings;

/* Dovecot module entry points (the module file is
   lib30_shared_imapc_plugin.so). */
extern const char *shared_imapc_plugin_version;
void shared_imapc_plugin_init(struct module *module);
void shared_imapc_plugin_deinit(void);
/* The imap plugin module's (lib95_imap_shared_imapc_plugin.so, built from
   c-shim/imap-*.c): it needs the imap binary and the module above. */
extern const char *imap_shared_imapc_plugin_version;
extern const char *imap_shared_imapc_plugin_dependencies[];
extern const char imap_shared_imapc_plugin_binary_dependency[];
void imap_shared_imapc_plugin_init(struct module *module);
void imap_shared_imapc_plugin_deinit(void);

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

/* The shared_imapc storage core. One account per logged-in user holds the
   remote sessions; an owner is one owner's folders in one namespace; a
   folder is one open (selected) remote folder. Functions that can fail take
   a struct sic_error, filled on failure and emptied with sic_error_clear(). */
struct sic_account;
struct sic_owner;
struct sic_folder_list;
struct sic_folder;
struct sic_sync;

enum sic_error_kind {
	SIC_ERR_TEMP = 0,
	SIC_ERR_UNAVAILABLE,
	SIC_ERR_NOTFOUND,
	SIC_ERR_PERM,
	SIC_ERR_NOTPOSSIBLE,
	SIC_ERR_PARAMS,
	SIC_ERR_EXPUNGED,
	SIC_ERR_EXISTS,
};
struct sic_error {
	int kind;
	/* For the IMAP client; names no host and no secret. */
	char *message;
	/* For the log, or NULL. */
	char *detail;
};
void sic_error_clear(struct sic_error *error);

struct event;
/* debug_event: the user's event for mail_debug lines (each remote command,
   secrets hidden), or NULL. client_ip: the user's own client address, sent
   to the owner's servers in ID (x-originating-ip), or NULL.
   home: the user's home, where ~/.shared_imapc.lists keeps the owners'
   listings across the user's sessions (shared_imapc_list_cache_time), or
   NULL for none. */
struct sic_account *sic_account_new(const struct sic_settings *set,
				    struct event *debug_event,
				    const char *client_ip,
				    const char *home);
void sic_account_free(struct sic_account *account);
/* Logs out of the remote sessions unused for shared_imapc_idle_timeout;
   due every sic_account_unused_check_msecs(). */
void sic_account_close_unused(struct sic_account *account);
unsigned int sic_account_unused_check_msecs(const struct sic_account *account);
/* Logs in, in parallel (bounded by shared_imapc_max_connections), to every
   owner opened so far that has no session yet. */
void sic_account_connect_pending(struct sic_account *account);
/* Whether the owners of the shared dictionary should be announced
   (sic_account_expect_owners) now: TRUE once per LIST, not per owner. */
int sic_account_should_expect_owners(struct sic_account *account);
/* The other owners a LIST shared/... is about to open, so that
   sic_account_connect_pending() logs in to them together: their namespace
   prefixes are namespace_prefix with owner replaced by each. */
void sic_account_expect_owners(struct sic_account *account,
			       const char *namespace_prefix, const char *owner,
			       const char *const *owners, unsigned int count);
/* Remote connections open now. */
unsigned int sic_account_connections(const struct sic_account *account);

/* No I/O. SIC_ERR_NOTFOUND when the login would be as owner with owner as
   master user (Dovecot's internal namespace of the owner). */
struct sic_owner *sic_owner_new(struct sic_account *account,
				const char *namespace_prefix,
				const char *owner, struct sic_error *error_r);
void sic_owner_free(struct sic_owner *owner);

/* LIST attribute bits. */
#define SIC_LIST_NOSELECT	0x0001
#define SIC_LIST_NONEXISTENT	0x0002
#define SIC_LIST_CHILDREN	0x0004
#define SIC_LIST_NOCHILDREN	0x0008
#define SIC_LIST_NOINFERIORS	0x0010
#define SIC_LIST_MARKED		0x0020
#define SIC_LIST_UNMARKED	0x0040

/* The owner's folders this user may see: UTF-8 names, '/'-separated,
   relative to the namespace prefix, sorted. */
struct sic_folder_list *sic_owner_list(struct sic_owner *owner,
				       struct sic_error *error_r);
unsigned int sic_folder_list_count(const struct sic_folder_list *list);
const char *sic_folder_list_get(const struct sic_folder_list *list,
				unsigned int index, unsigned int *flags_r);
void sic_folder_list_free(struct sic_folder_list *list);

struct sic_status {
	uint32_t messages, uidnext, uidvalidity, unseen;
	uint64_t highest_modseq;
};
int sic_owner_status(struct sic_owner *owner, const char *name,
		     struct sic_status *status_r, struct sic_error *error_r);

struct sic_folder_state {
	uint32_t exists, uidvalidity, uidnext;
	uint64_t highest_modseq;
};
/* Folder management on the owner's server, with the user's rights there:
   CREATE of name (meant to hold other folders when directory), DELETE,
   RENAME of name to new_name (both the owner's). Names are below the
   namespace prefix. 0 when the owner's server did it; -1 with its refusal
   (or why it could not be asked) in *error_r. The owner's listing is
   asked anew afterwards, in every session of the user. */
int sic_owner_create(struct sic_owner *owner, const char *name, int directory,
		     struct sic_error *error_r);
int sic_owner_delete(struct sic_owner *owner, const char *name,
		     struct sic_error *error_r);
int sic_owner_rename(struct sic_owner *owner, const char *name,
		     const char *new_name, struct sic_error *error_r);

/* SELECT name (EXAMINE when read_only); known_* is what the local index
   last had (0 if nothing), so the remote can report only the changes since
   (QRESYNC). */
struct sic_folder *sic_folder_open(struct sic_owner *owner, const char *name,
				   int read_only, uint32_t known_uidvalidity,
				   uint64_t known_modseq,
				   struct sic_folder_state *state_r,
				   struct sic_error *error_r);
void sic_folder_free(struct sic_folder *folder);

enum sic_change_kind {
	SIC_CHANGE_RESET = 0,
	SIC_CHANGE_EXPUNGE,
	SIC_CHANGE_FLAGS,
	SIC_CHANGE_APPEND,
	/* The remote's keywords (its FLAGS), for the index to know them too
	   where no message has them; no uid. */
	SIC_CHANGE_KEYWORDS,
};
struct sic_change {
	int kind;
	uint32_t uid;
	/* enum mail_flags bits. */
	uint8_t flags;
	/* NULL-terminated keyword names. */
	const char *const *keywords;
};
/* Asks the remote what changed since the last sync. quick: only take in
   what the remote reported alongside earlier commands
   (MAILBOX_SYNC_FLAG_FAST), no NOOP. local_last_uid: the index's highest
   UID (0 when empty). index_asked_at: when the user's other sessions last
   asked the remote for the index (struct sic_sync_info's asked_at): no
   NOOP either if that was after the user's command began. Returns 0 when the plan must see every local
   message, 1 when only those with UIDs in *ranges_r (*count_r pairs of
   first and last UID, ascending; valid until sic_folder_sync_plan()), -1
   on error. */
int sic_folder_sync_begin(struct sic_folder *folder, uint32_t local_uidvalidity,
			  uint32_t local_last_uid, int quick,
			  uint64_t index_asked_at,
			  const uint32_t **ranges_r, unsigned int *count_r,
			  struct sic_error *error_r);
/* The local index as a sync plans against it: read under the index's
   sync lock, after the remote was asked, since the user's other sessions
   may have synced meanwhile. */
struct sic_local_index {
	uint32_t uidvalidity;
	/* The highest UID the index has or ever had (next_uid - 1). */
	uint32_t last_uid;
	/* The remote HIGHESTMODSEQ the index is as of (0: unknown). */
	uint64_t highest_modseq;
};
/* Compares what sic_folder_sync_begin() learnt with the index and the
   local messages it asked for: count UIDs (ascending), their enum
   mail_flags and keywords (space-separated, or NULL). Returns the plan;
   sic_sync_info() tells what else it learnt. */
struct sic_sync *sic_folder_sync_plan(struct sic_folder *folder,
				      const struct sic_local_index *index,
				      const uint32_t *uids, const uint8_t *flags,
				      const char *const *keywords,
				      unsigned int count,
				      struct sic_error *error_r);
/* 0 when a sync would change nothing (quick, nothing reported since the
   last one), so the local index need not be read; 1 otherwise; -1 on
   error. command_began: when the user's command began (µs since the
   epoch): a sync after a command that asked the remote is a quick one. */
int sic_folder_has_news(struct sic_folder *folder, int quick,
			uint64_t command_began, struct sic_error *error_r);
/* Asks the remote for the news a sync that is not quick needs (NOOP, the
   flags of new mail) before the sync takes the index's lock, so that the
   user's other sessions need not wait for the round trips; the sync then
   asks nothing more unless the folder must be listed whole.
   local_last_uid and index_asked_at: as sic_folder_sync_begin() takes
   them, read without the lock. 0, or -1 on error. */
int sic_folder_ask_ahead(struct sic_folder *folder, uint32_t local_last_uid,
			 uint64_t index_asked_at, struct sic_error *error_r);
/* What a sync plan learnt besides its changes. */
struct sic_sync_info {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highest_modseq;
	/* When the remote was asked for what the index now has (µs since
	   the epoch), 0 when it was not: kept in the index for the user's
	   other sessions (sic_folder_sync_begin()'s index_asked_at). */
	uint64_t asked_at;
	unsigned int change_count;
};
void sic_sync_info(const struct sic_sync *sync, struct sic_sync_info *info_r);
int sic_sync_get(const struct sic_sync *sync, unsigned int index,
		 struct sic_change *change_r);
void sic_sync_free(struct sic_sync *sync);

/* IDLE on the owner's server while the client idles (RFC 2177), on the
   folder's own remote session. Start: a descriptor of its socket for the
   ioloop to watch (the caller closes it) and, in *renew_msecs_r, how long
   the IDLE may last before it is renewed; -1 when the remote cannot IDLE
   now (no IDLE capability, the session busy or broken): poll instead.
   Starting while an IDLE runs sends nothing. */
int sic_folder_idle_start(struct sic_folder *folder, unsigned int *renew_msecs_r);
/* Reads what came during the IDLE without waiting (call it when the
   socket is readable, and once right after the start: data may be
   buffered already). 1: news about the folder, the IDLE ended (the next
   sync takes them); 0: nothing yet; -1: the IDLE is over without news
   (connection broken, ended by the server or another command). */
int sic_folder_idle_check(struct sic_folder *folder);
/* Ends the IDLE, if one runs (DONE, then its answer). */
void sic_folder_idle_stop(struct sic_folder *folder);

/* Whether the remote opened the folder read-only ([READ-ONLY]). */
int sic_folder_is_read_only(const struct sic_folder *folder);
/* 1 when changes the user made in an index of index_uidvalidity may go to
   the owner's server, 0 when they must be dropped: the owner's folder is
   a new one since. */
int sic_folder_accepts_changes(const struct sic_folder *folder,
			       uint32_t index_uidvalidity);
/* One local flag change: flags (enum mail_flags) and a keyword (or NULL)
   added (add = 1) or removed for UIDs uid1..uid2. */
struct sic_flag_change {
	uint32_t uid1, uid2;
	int add;
	uint8_t flags;
	const char *keyword;
};
/* Local changes passed on: count flag changes in one round trip, and
   expunges. The remote's answer reaches the index at the next sync.
   with_flags: the messages' flags are asked for in the same round trip
   (changes the index took for no-ops, which the remote mostly answers
   with nothing). */
int sic_folder_store(struct sic_folder *folder,
		     const struct sic_flag_change *changes, unsigned int count,
		     int with_flags, struct sic_error *error_r);
int sic_folder_expunge(struct sic_folder *folder, uint32_t uid1, uint32_t uid2,
		       struct sic_error *error_r);
/* Where the owner's server saved a message ([APPENDUID]); zeros when it
   did not say. */
struct sic_saved {
	uint32_t uidvalidity;
	uint32_t uid;
};
/* Saves a message (size bytes, CRLF line ends) into the folder on the
   remote, with flags, keywords (NULL-terminated or NULL) and, when
   has_internaldate, its INTERNALDATE. It shows up locally at the next
   sync; *saved_r says where. */
int sic_folder_append(struct sic_folder *folder, const unsigned char *data,
		      size_t size, uint8_t flags, const char *const *keywords,
		      int has_internaldate, int64_t internaldate,
		      int timezone_minutes, struct sic_saved *saved_r,
		      struct sic_error *error_r);
/* Copies (moving: moves) the count messages uids of the folder into the
   owner's folder destination (its name below the namespace prefix) on the
   owner's server, in one command. *uidvalidity_r and dest_uids_r[i] (count
   of them) say where each went; *uidvalidity_r is 0 when the server did
   not say. */
int sic_folder_copy(struct sic_folder *folder, const char *destination,
		    const uint32_t *uids, unsigned int count, int moving,
		    uint32_t *uidvalidity_r, uint32_t *dest_uids_r,
		    struct sic_error *error_r);
/* 1 if the user may expunge in the folder (the owner's server's MYRIGHTS
   has 'e', asked once), 0 if not, -1 on error. */
int sic_folder_may_expunge(struct sic_folder *folder, struct sic_error *error_r);

/* What a FETCH needs from the remote. */
#define SIC_WANT_INTERNALDATE	0x01
#define SIC_WANT_SIZE		0x02
#define SIC_WANT_ENVELOPE	0x04
#define SIC_WANT_BODYSTRUCTURE	0x08
#define SIC_WANT_BODY		0x10
#define SIC_WANT_MESSAGE	0x20
#define SIC_WANT_GUID		0x40
/* The header alone (a whole message holds it too). */
#define SIC_WANT_HEADER		0x80

/* Fetches wanted for all uids in one remote command (whole messages in
   batches as they are read). */
int sic_folder_prefetch(struct sic_folder *folder, const uint32_t *uids,
			unsigned int count, uint32_t wanted,
			struct sic_error *error_r);
struct sic_message {
	int has_internaldate;
	int64_t internaldate;
	int timezone_minutes;
	int has_size;
	uint64_t size;
	const char *envelope, *bodystructure, *body;
	/* The owner's message GUID, when the remote tells it (X-GUID). */
	const char *guid;
	/* The message: data/data_size in memory, or fd >= 0 (caller closes). */
	const unsigned char *data;
	size_t data_size;
	int fd;
	/* Nonzero when data/fd hold only the message's header (SIC_WANT_HEADER
	   without the whole message at hand). */
	int header_only;
};
/* 1 with the data (valid until the next call on the folder), 0 when the
   remote no longer has the message, -1 on error. */
int sic_folder_message(struct sic_folder *folder, uint32_t uid,
		       uint32_t wanted, struct sic_message *message_r,
		       struct sic_error *error_r);

/* A SEARCH or SORT: keys[i] is top-level key i as IMAP (NULL: only the
   local side can evaluate it); sort the SORT criteria (NULL-terminated) or
   NULL. The core decides what the remote evaluates and asks it in one
   command. NULL with *error_r on failure. */
struct sic_search;
struct sic_search *sic_folder_search(struct sic_folder *folder,
				     const char *const *keys,
				     unsigned int key_count,
				     const char *const *sort,
				     struct sic_error *error_r);
/* Whether anything was asked of the remote; whether it sorted; whether it
   evaluated keys[index]. */
int sic_search_is_remote(const struct sic_search *search);
int sic_search_is_sorted(const struct sic_search *search);
int sic_search_key_is_remote(const struct sic_search *search,
			     unsigned int index);
/* The matching UIDs: ascending, or in the remote's order if it sorted. */
const uint32_t *sic_search_uids(const struct sic_search *search,
				unsigned int *count_r);
void sic_search_free(struct sic_search *search);

/* THREAD on the remote, with keys as for sic_folder_search(). Returns the
   answer's text ("(1 2 (3)(4))"): local sequence numbers when local_uids
   (the index's UIDs in sequence order) is given, else UIDs. NULL with
   *fallback_r = 1 when the remote cannot (the caller threads locally), or
   NULL with *error_r on failure. Free with sic_string_free(). */
char *sic_folder_thread(struct sic_folder *folder, const char *algorithm,
			const char *const *keys, unsigned int key_count,
			const uint32_t *local_uids, unsigned int uid_count,
			int *fallback_r, struct sic_error *error_r);

/* MYRIGHTS, GETACL, LISTRIGHTS (identifier), SETACL (identifier, rights)
   or DELETEACL (identifier) on the owner's server for folder name, with
   the user's rights there: the text following the folder name in its
   untagged answer ("" for SETACL and DELETEACL, which have none). */
char *sic_owner_acl(struct sic_owner *owner, const char *command,
		    const char *name, const char *identifier,
		    const char *rights, struct sic_error *error_r);
/* GETQUOTAROOT of folder name on the owner's server: its untagged answer,
   one response a line without "* ": "QUOTAROOT roots…" (the folder's name
   left out) and "QUOTA root (resource usage limit …)", the roots named
   "owner:root". */
char *sic_owner_quota_root(struct sic_owner *owner, const char *name,
			   struct sic_error *error_r);
/* GETQUOTA of the owner's root (its own name, without "owner:"), answered
   as sic_owner_quota_root() answers. */
char *sic_owner_quota(struct sic_owner *owner, const char *root,
		      struct sic_error *error_r);

/* The folder's /shared/<key> METADATA entry on the owner's server: 1 with
   *value_r (free with sic_string_free()), 0 when it has none, -1 on
   error. */
int sic_owner_metadata_get(struct sic_owner *owner, const char *name,
			   const char *key, char **value_r,
			   struct sic_error *error_r);
/* Sets it to value (value_size bytes), or removes it when value is NULL,
   with the user's rights on the owner's server. 0 or -1. */
int sic_owner_metadata_set(struct sic_owner *owner, const char *name,
			   const char *key, const unsigned char *value,
			   size_t value_size, struct sic_error *error_r);
/* The keys (below /shared/) of the folder's shared entries that start
   with prefix, one a line. */
char *sic_owner_metadata_keys(struct sic_owner *owner, const char *name,
			      const char *prefix, struct sic_error *error_r);

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
