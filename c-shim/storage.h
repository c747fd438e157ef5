#ifndef SIC_STORAGE_H
#define SIC_STORAGE_H

/* The shim's storage types, shared by storage.c (storage and mailbox),
   list.c (the folder list), sync.c (index sync) and mail.c (messages). */

#include "mail-storage-private.h"
#include "index-storage.h"
#include "index-mail.h"
#include "shared_imapc.h"

#define SIC_STORAGE_NAME "shared_imapc"
#define SIC_LIST_NAME "shared_imapc"

struct sic_storage {
	struct mail_storage storage;
	/* The logged-in user's remote sessions. */
	struct sic_account *account;
	/* NULL in the owner's own internal namespace, which never logs in. */
	struct sic_owner *owner;
};

struct sic_unlogged_store;

struct sic_mailbox {
	struct mailbox box;
	struct sic_storage *storage;
	struct sic_folder *folder;
	uint32_t ext_id;
	/* When the remote was last asked for what the index has (a
	   uint64_t, µs since the epoch; see sync.c). */
	uint32_t asked_ext_id;
	/* When the client's command on this selected folder began (µs since
	   the epoch), as the imap module notes it; 0: unknown. The next sync
	   takes it (see sync.c). */
	uint64_t command_began;
	/* The cache file fields of the remote's ENVELOPE and of a message's
	   whole header (see storage.c). */
	unsigned int envelope_cache_idx;
	unsigned int header_cache_idx;
	/* While the client idles: renewing the remote IDLE, or polling
	   where the remote has none (sync.c). */
	struct timeout *to_idle;
	/* Starts the remote IDLE once the sync in progress is done. */
	struct timeout *to_idle_start;
	/* Watches idle_fd (a copy of the remote socket) during the IDLE. */
	struct io *io_idle;
	int idle_fd;
	/* The user's changes the index took for no-ops, to pass on all the
	   same (store.c). */
	ARRAY(struct sic_unlogged_store) unlogged_stores;
	/* An expunge was asked for without the right: the EXPUNGE (or MOVE)
	   that syncs it answers NO (sync.c). */
	bool expunge_refused;
};

#define SIC_STORAGE(s) (container_of(s, struct sic_storage, storage))
#define SIC_MAILBOX(b) (container_of(b, struct sic_mailbox, box))

/* The index header extension: what the remote had at the last sync. */
struct sic_index_header {
	uint32_t uidvalidity;
	uint32_t padding;
	uint64_t highest_modseq;
};
/* The remote state the index in view was last synced with (zeros before
   the first sync). */
void sic_index_known_state(struct sic_mailbox *mbox,
			   struct mail_index_view *view,
			   struct sic_index_header *hdr_r);

extern struct mail_vfuncs sic_mail_vfuncs;

/* The user's flag changes, gathered to go to the remote together. */
ARRAY_DEFINE_TYPE(sic_flag_change, struct sic_flag_change);

/* store.c: the user's flag and keyword changes, and their transactions'
   ends, keeping aside those the index takes for no-ops. */
void sic_mail_update_flags(struct mail *mail, enum modify_type modify_type,
			   enum mail_flags flags);
void sic_mail_update_keywords(struct mail *mail, enum modify_type modify_type,
			      struct mail_keywords *keywords);
int sic_transaction_commit(struct mailbox_transaction_context *t,
			   struct mail_transaction_commit_changes *changes_r);
void sic_transaction_rollback(struct mailbox_transaction_context *t);
/* Passes the committed changes kept aside on (sync.c, before the logged
   ones). Returns 1 when some went, 0 when there were none, -1 when the
   owner's server could not take them now (kept, and the logged ones must
   wait too, to come after them), -2 when it refused them (reported and
   forgotten). */
int sic_unlogged_stores_push(struct sic_mailbox *mbox);
/* At the folder's close: passes on what no sync did, forgets the rest. */
void sic_unlogged_stores_free(struct sic_mailbox *mbox);

/* groups.c: in a master user's session as another user, group rights
   become the master user's. */
void sic_acl_use_master_groups(struct mail_user *user);

/* plugin.c: the account of a user with shared_imapc settings, or NULL. */
struct sic_account *sic_user_account(struct mail_user *user);

/* report.c (built into the imap plugin module too): Dovecot's error kind
   for a SIC_ERR_* kind. */
enum mail_error sic_mail_error(int kind);
/* Whether what the owner's server could not do may be tried again
   (unreachable, the connection broken, a temporary failure). */
bool sic_error_is_temporary(const struct sic_error *error);
/* Sets the storage's error from error, logs its detail, clears it. */
void sic_storage_report(struct mail_storage *storage, struct sic_error *error);
/* The same for a mailbox; "not found" names the folder as the user sees it. */
void sic_mailbox_report(struct mailbox *box, struct sic_error *error);

void sic_storage_register(void);
void sic_storage_unregister(void);
void sic_list_register(void);
void sic_list_unregister(void);

/* sync.c */
struct mailbox_sync_context *
sic_mailbox_sync_init(struct mailbox *box, enum mailbox_sync_flags flags);
void sic_mailbox_notify_changes(struct mailbox *box);
int sic_mailbox_sync_deinit(struct mailbox_sync_context *ctx,
			    struct mailbox_sync_status *status_r);
/* The mailbox closes: its remote IDLE ends. */
void sic_mailbox_idle_close(struct sic_mailbox *mbox);

/* mail.c */
struct mail *sic_mail_alloc(struct mailbox_transaction_context *t,
			    enum mail_fetch_field wanted_fields,
			    struct mailbox_header_lookup_ctx *wanted_headers);

/* save.c: APPEND and COPY into a shared folder. */
struct mail_save_context *sic_save_alloc(struct mailbox_transaction_context *t);
int sic_save_begin(struct mail_save_context *ctx, struct istream *input);
int sic_save_continue(struct mail_save_context *ctx);
int sic_save_finish(struct mail_save_context *ctx);
void sic_save_cancel(struct mail_save_context *ctx);
/* COPY and MOVE: the owner's server copies from a folder of its own. */
int sic_copy(struct mail_save_context *ctx, struct mail *mail);
int sic_save_commit_pre(struct mail_save_context *ctx);
void sic_save_commit_post(struct mail_save_context *ctx,
			  struct mail_index_transaction_commit_result *result);
void sic_save_rollback(struct mail_save_context *ctx);

/* attribute.c: METADATA, /shared entries on the owner's server. */
int sic_attribute_set(struct mailbox_transaction_context *t,
		      enum mail_attribute_type type_flags, const char *key,
		      const struct mail_attribute_value *value);
int sic_attribute_get(struct mailbox *box, enum mail_attribute_type type_flags,
		      const char *key, struct mail_attribute_value *value_r);
struct mailbox_attribute_iter *
sic_attribute_iter_init(struct mailbox *box, enum mail_attribute_type type_flags,
			const char *prefix);
const char *sic_attribute_iter_next(struct mailbox_attribute_iter *iter);
int sic_attribute_iter_deinit(struct mailbox_attribute_iter *iter);

/* search.c */
struct mail_search_context *
sic_search_init(struct mailbox_transaction_context *t,
		struct mail_search_args *args,
		const enum mail_sort_type *sort_program,
		enum mail_fetch_field wanted_fields,
		struct mailbox_header_lookup_ctx *wanted_headers);
bool sic_search_next_update_seq(struct mail_search_context *ctx);
/* search-keys.c (built into the imap plugin module too): each top-level
   key of args as IMAP (NULL: only Dovecot knows it). */
void sic_search_keys(struct mailbox *box, const struct mail_search_args *args,
		     ARRAY_TYPE(const_string) *keys_r);

/* The folder's name below its namespace prefix ("Team/2026"). */
const char *sic_mailbox_folder_name(struct mailbox *box);
/* Whether two such names are one folder's (INBOX in any case). */
bool sic_folder_name_equals(const char *a, const char *b);
int sic_search_deinit(struct mail_search_context *ctx);

#endif
