/* Index sync: the Rust core compares the remote with the local UIDs and
   returns a plan; this applies it to Dovecot's index as an external
   change, which Dovecot then reports to the IMAP client (EXISTS, EXPUNGE,
   FETCH FLAGS). */
#include "shim.h"
#include "ioloop.h"
#include "str.h"
#include "storage.h"

static void sic_sync_apply_flags(struct mail_index_transaction *trans,
				 uint32_t seq, const struct sic_change *change)
{
	struct mail_keywords *keywords;

	mail_index_update_flags(trans, seq, MODIFY_REPLACE,
				(enum mail_flags)change->flags);
	if (change->kind == SIC_CHANGE_APPEND && change->keywords[0] == NULL)
		return;
	keywords = mail_index_keywords_create(trans->view->index,
					      change->keywords);
	mail_index_update_keywords(trans, seq, MODIFY_REPLACE, keywords);
	mail_index_keywords_unref(&keywords);
}

/* The index knows these keywords from now on (in this process: Dovecot
   writes one to the index once a message has it), so that FLAGS lists
   them as the owner's server does. */
static void sic_sync_know_keywords(struct mail_index *index,
				   const char *const *keywords)
{
	unsigned int idx;

	for (; *keywords != NULL; keywords++)
		mail_index_keyword_lookup_or_create(index, *keywords, &idx);
}

static void sic_sync_apply(struct mail_index_transaction *trans,
			   const struct sic_change *change)
{
	uint32_t seq;

	switch (change->kind) {
	case SIC_CHANGE_RESET:
		mail_index_reset(trans);
		break;
	case SIC_CHANGE_EXPUNGE:
		if (mail_index_lookup_seq(trans->view, change->uid, &seq))
			mail_index_expunge(trans, seq);
		break;
	case SIC_CHANGE_FLAGS:
		if (mail_index_lookup_seq(trans->view, change->uid, &seq))
			sic_sync_apply_flags(trans, seq, change);
		break;
	case SIC_CHANGE_APPEND:
		mail_index_append(trans, change->uid, &seq);
		sic_sync_apply_flags(trans, seq, change);
		break;
	case SIC_CHANGE_KEYWORDS:
		sic_sync_know_keywords(mail_index_view_get_index(trans->view),
				       change->keywords);
		break;
	}
}

/* When the user's sessions last asked the remote for what the index has
   (0: never). */
static uint64_t sic_index_asked_at(struct sic_mailbox *mbox,
				   struct mail_index_view *view)
{
	const void *data;
	size_t size;
	uint64_t asked_at = 0;

	mail_index_get_header_ext(view, mbox->asked_ext_id, &data, &size);
	if (size >= sizeof(asked_at))
		memcpy(&asked_at, data, sizeof(asked_at));
	return asked_at;
}

static void sic_sync_header(struct sic_mailbox *mbox,
			    struct mail_index_transaction *trans,
			    struct mail_index_view *view,
			    const struct sic_sync_info *info)
{
	const struct mail_index_header *hdr = mail_index_get_header(view);
	struct sic_index_header ext;
	uint32_t next_uid = I_MAX(info->uidnext, hdr->next_uid);

	if (hdr->uid_validity != info->uidvalidity) {
		mail_index_update_header(trans,
			offsetof(struct mail_index_header, uid_validity),
			&info->uidvalidity, sizeof(info->uidvalidity), TRUE);
	}
	if (info->uidnext > hdr->next_uid) {
		mail_index_update_header(trans,
			offsetof(struct mail_index_header, next_uid),
			&info->uidnext, sizeof(info->uidnext), FALSE);
	}
	/* No message of a shared folder is \Recent (README): none is above
	   the first recent UID. */
	if (hdr->first_recent_uid < next_uid) {
		mail_index_update_header(trans,
			offsetof(struct mail_index_header, first_recent_uid),
			&next_uid, sizeof(next_uid), FALSE);
	}
	i_zero(&ext);
	ext.uidvalidity = info->uidvalidity;
	ext.highest_modseq = info->highest_modseq;
	mail_index_update_header_ext(trans, mbox->ext_id, 0, &ext, sizeof(ext));
	/* Asked ahead of the lock, another session may have asked later. */
	if (info->asked_at > sic_index_asked_at(mbox, view)) {
		mail_index_update_header_ext(trans, mbox->asked_ext_id, 0,
			&info->asked_at, sizeof(info->asked_at));
	}
}

static void sic_flag_change_add(ARRAY_TYPE(sic_flag_change) *changes,
				const struct mail_index_sync_rec *rec,
				bool add, uint8_t flags, const char *keyword)
{
	struct sic_flag_change *change = array_append_space(changes);

	change->uid1 = rec->uid1;
	change->uid2 = rec->uid2;
	change->add = add ? 1 : 0;
	change->flags = flags;
	change->keyword = keyword;
}

/* Passes the gathered flag changes on (one round trip) and forgets them. */
static int sic_sync_push_flags(struct sic_mailbox *mbox,
			       ARRAY_TYPE(sic_flag_change) *changes,
			       struct sic_error *error)
{
	unsigned int count = array_count(changes);
	int ret;

	if (count == 0)
		return 0;
	ret = sic_folder_store(mbox->folder, array_front(changes), count, 0,
			       error);
	array_clear(changes);
	return ret;
}

/* One local change: a flag change is gathered, an expunge goes at once
   (after the flag changes before it). */
static int sic_sync_push_record(struct sic_mailbox *mbox,
				const struct mail_index_sync_rec *rec,
				ARRAY_TYPE(sic_flag_change) *changes,
				struct sic_error *error)
{
	const ARRAY_TYPE(keywords) *names;
	bool add = rec->type == MAIL_INDEX_SYNC_TYPE_KEYWORD_ADD;

	switch (rec->type) {
	case MAIL_INDEX_SYNC_TYPE_FLAGS:
		if (rec->add_flags != 0)
			sic_flag_change_add(changes, rec, TRUE, rec->add_flags, NULL);
		if (rec->remove_flags != 0)
			sic_flag_change_add(changes, rec, FALSE, rec->remove_flags, NULL);
		return 0;
	case MAIL_INDEX_SYNC_TYPE_KEYWORD_ADD:
	case MAIL_INDEX_SYNC_TYPE_KEYWORD_REMOVE:
		names = mail_index_get_keywords(mbox->box.index);
		if (rec->keyword_idx < array_count(names)) {
			sic_flag_change_add(changes, rec, add, 0,
				array_idx_elem(names, rec->keyword_idx));
		}
		return 0;
	case MAIL_INDEX_SYNC_TYPE_EXPUNGE:
		if (sic_sync_push_flags(mbox, changes, error) < 0)
			return -1;
		return sic_folder_expunge(mbox->folder, rec->uid1, rec->uid2, error);
	}
	return 0;
}

/* Changes kept in an index of another UIDVALIDITY name messages of a
   folder the owner deleted since: dropped, never sent to the new one. */
static void sic_sync_drop_local(struct sic_mailbox *mbox,
				struct mail_index_sync_ctx *sync_ctx,
				uint32_t uidvalidity)
{
	struct mail_index_sync_rec rec;
	unsigned int dropped = 0;

	while (mail_index_sync_next(sync_ctx, &rec))
		dropped++;
	/* A new index (UIDVALIDITY 0) has no messages to have changed. */
	if (dropped == 0)
		return;
	e_warning(mbox->box.event, "shared_imapc: %u of the user's changes "
		  "dropped: made in the folder of UIDVALIDITY %u, which the "
		  "owner's server has replaced", dropped, uidvalidity);
}

/* The user's own changes (STORE, EXPUNGE, \Seen from FETCH) wait in the
   index for the "backend" to apply them: here the owner's server. What it
   really did comes back with the remote changes below.
   Returns 1 when changes went to the owner's server, 0 when there were
   none to pass on, -1 on error. */
static int sic_sync_push_logged(struct sic_mailbox *mbox)
{
	struct mail_index_sync_ctx *sync_ctx;
	struct mail_index_view *sync_view;
	struct mail_index_transaction *trans;
	struct mail_index_sync_rec rec;
	ARRAY_TYPE(sic_flag_change) changes;
	unsigned int records = 0;
	struct sic_error error;
	uint32_t uidvalidity;
	bool temporary;
	int ret;

	ret = mail_index_sync_begin(mbox->box.index, &sync_ctx, &sync_view,
		&trans, index_storage_get_sync_flags(&mbox->box) |
		MAIL_INDEX_SYNC_FLAG_REQUIRE_CHANGES);
	if (ret <= 0) {
		if (ret < 0)
			mailbox_set_index_error(&mbox->box);
		return ret;
	}
	i_zero(&error);
	ret = 0;
	uidvalidity = mail_index_get_header(sync_view)->uid_validity;
	if (sic_folder_accepts_changes(mbox->folder, uidvalidity) == 0)
		sic_sync_drop_local(mbox, sync_ctx, uidvalidity);
	t_array_init(&changes, 8);
	while (ret == 0 && mail_index_sync_next(sync_ctx, &rec)) {
		ret = sic_sync_push_record(mbox, &rec, &changes, &error);
		records++;
	}
	if (ret == 0)
		ret = sic_sync_push_flags(mbox, &changes, &error);
	temporary = ret < 0 && sic_error_is_temporary(&error);
	if (ret < 0)
		sic_mailbox_report(&mbox->box, &error);
	/* What the owner's server could not take now (unreachable, the
	   connection broken, a temporary failure) stays for the next sync,
	   whole (passing a change on twice does no harm); what it refused is
	   done with: its state comes back next (a refused expunge rebuilds
	   the index). */
	if (temporary) {
		mail_index_sync_rollback(&sync_ctx);
		return -1;
	}
	if (mail_index_sync_commit(&sync_ctx) < 0) {
		mailbox_set_index_error(&mbox->box);
		return -1;
	}
	return ret < 0 ? -1 : (records > 0 ? 1 : 0);
}

/* Returns 1 when changes went to the owner's server, 0 when there were
   none to pass on, -1 on error (what could be tried again is kept). */
static int sic_sync_push_local(struct sic_mailbox *mbox)
{
	int unlogged, logged;

	/* EXAMINE sends nothing: what another session of the user changed
	   stays in the index for a SELECT to pass on. (A folder the rights
	   make read-only still passes changes on: the owner's server drops
	   them, and its answer puts the index right.) */
	if ((mbox->box.flags & MAILBOX_FLAG_READONLY) != 0)
		return 0;
	/* The no-ops first: each was one against the index as the logged
	   changes before it left it, so only a later logged change can
	   undo what it does (a logged one kept from a failed sync aside). */
	unlogged = sic_unlogged_stores_push(mbox);
	if (unlogged == -1)
		return -1;
	logged = sic_sync_push_logged(mbox);
	if (logged < 0 || unlogged < 0)
		return -1;
	return I_MAX(unlogged, logged);
}

/* The local messages, as the core compares them with the remote's. */
struct sic_local_messages {
	ARRAY(uint32_t) uids;
	ARRAY(uint8_t) flags;
	ARRAY_TYPE(const_string) keywords;
	ARRAY_TYPE(keyword_indexes) keyword_idx;
	const char *const *names;
	unsigned int names_count;
};

static void sic_local_message_read(struct mail_index_view *view, uint32_t seq,
				   struct sic_local_messages *local)
{
	const struct mail_index_record *rec = mail_index_lookup(view, seq);
	uint8_t flags = rec->flags & MAIL_FLAGS_NONRECENT;
	const char *keywords = NULL;
	const unsigned int *idx;
	string_t *str;

	array_push_back(&local->uids, &rec->uid);
	array_push_back(&local->flags, &flags);
	/* Most folders have no keywords: no lookup per message then. */
	if (local->names_count > 0)
		mail_index_lookup_keywords(view, seq, &local->keyword_idx);
	if (!array_is_empty(&local->keyword_idx)) {
		str = t_str_new(64);
		array_foreach(&local->keyword_idx, idx) {
			if (*idx < local->names_count)
				str_printfa(str, "%s ", local->names[*idx]);
		}
		keywords = str_c(str);
	}
	array_push_back(&local->keywords, &keywords);
}

/* Every local message (ranges NULL), or those with UIDs in range_count
   ranges (pairs of first and last UID, ascending). */
static void sic_local_messages_read(struct mail_index_view *view,
				    const uint32_t *ranges,
				    unsigned int range_count,
				    struct sic_local_messages *local_r)
{
	unsigned int count = mail_index_view_get_messages_count(view);
	unsigned int i, size = ranges == NULL ? count + 1 : 16;
	uint32_t seq, first, last;

	t_array_init(&local_r->uids, size);
	t_array_init(&local_r->flags, size);
	t_array_init(&local_r->keywords, size);
	t_array_init(&local_r->keyword_idx, 8);
	local_r->names = array_get(mail_index_get_keywords(
		mail_index_view_get_index(view)), &local_r->names_count);
	if (ranges == NULL) {
		for (seq = 1; seq <= count; seq++)
			sic_local_message_read(view, seq, local_r);
		return;
	}
	for (i = 0; i < range_count; i++) {
		if (!mail_index_lookup_seq_range(view, ranges[2 * i],
						 ranges[2 * i + 1], &first, &last))
			continue;
		for (seq = first; seq <= last; seq++)
			sic_local_message_read(view, seq, local_r);
	}
}

static uint32_t sic_local_last_uid(struct mail_index_view *view)
{
	unsigned int count = mail_index_view_get_messages_count(view);

	return count == 0 ? 0 : mail_index_lookup(view, count)->uid;
}

/* Without a dovecot.index.cache every message's lookup tries to open it
   again (10,000 failing open() calls for FETCH 1:* of 10,000 messages), and
   so does a purge that creates it: create the empty file before the first
   sync adds the messages. A new cache file lists every registered field,
   also those never used; Dovecot drops these at its next purge, which would
   otherwise come right after the first FETCH and rewrite all it cached. So
   the file is purged once more after the sync (the drop needs the index's
   day stamp, which the first messages set). Returns TRUE if it was created. */
static bool sic_mailbox_create_cache_file(struct mailbox *box)
{
	if (mail_index_is_in_memory(box->index) ||
	    mail_cache_open_and_verify(box->cache) != 0)
		return FALSE;
	if (mail_cache_purge(box->cache, 0, "shared_imapc: first open") < 0) {
		e_debug(box->event, "shared_imapc: no cache file: %s",
			mail_index_get_error_message(box->index));
		return FALSE;
	}
	return TRUE;
}

static void sic_mailbox_drop_unused_cache_fields(struct mailbox *box)
{
	if (mail_cache_purge(box->cache, (uint32_t)-1,
			     "shared_imapc: fields never used") < 0)
		e_debug(box->event, "shared_imapc: cache not purged: %s",
			mail_index_get_error_message(box->index));
}

/* What one sync changed in the index, for mail_debug: how many of each
   kind of change, and the first UIDs of each (a message gone from the view
   or with other flags is what a user asks about). */
#define SIC_SYNC_DEBUG_UIDS 20
struct sic_sync_summary {
	unsigned int count[SIC_CHANGE_APPEND + 1];
	string_t *uids[SIC_CHANGE_APPEND + 1];
};

static void sic_sync_note(struct sic_sync_summary *summary,
			  const struct sic_change *change)
{
	int kind = change->kind;

	if (kind < 0 || kind > SIC_CHANGE_APPEND ||
	    ++summary->count[kind] > SIC_SYNC_DEBUG_UIDS)
		return;
	if (summary->uids[kind] == NULL)
		summary->uids[kind] = t_str_new(64);
	str_printfa(summary->uids[kind], " %u", change->uid);
}

static const char *sic_sync_summary_part(const struct sic_sync_summary *summary,
					 int kind, const char *what)
{
	if (summary->count[kind] == 0)
		return "";
	return t_strdup_printf(", %u %s:%s%s", summary->count[kind], what,
			       str_c(summary->uids[kind]),
			       summary->count[kind] > SIC_SYNC_DEBUG_UIDS ? " …" : "");
}

static void sic_sync_debug(struct sic_mailbox *mbox, uint64_t from_modseq,
			   const struct sic_sync_summary *summary,
			   uint32_t uidnext, uint64_t highest_modseq)
{
	e_debug(mbox->box.event, "shared_imapc: synced from modseq %llu to %llu, "
		"uidnext %u%s%s%s%s", (unsigned long long)from_modseq,
		(unsigned long long)highest_modseq, uidnext,
		summary->count[SIC_CHANGE_RESET] > 0 ? ", index reset" : "",
		sic_sync_summary_part(summary, SIC_CHANGE_APPEND, "appended"),
		sic_sync_summary_part(summary, SIC_CHANGE_FLAGS, "with new flags"),
		sic_sync_summary_part(summary, SIC_CHANGE_EXPUNGE, "expunged"));
}

/* The index as the plan must see it, under the sync lock: the highest
   UID it ever had (an expunged one is never appended again) and the
   remote modseq it is as of. */
static void sic_sync_local_index(struct sic_mailbox *mbox,
				 struct mail_index_view *view,
				 struct sic_local_index *index_r)
{
	const struct mail_index_header *hdr = mail_index_get_header(view);
	struct sic_index_header known;

	i_zero(index_r);
	index_r->uidvalidity = hdr->uid_validity;
	index_r->last_uid = I_MAX(sic_local_last_uid(view),
				  hdr->next_uid == 0 ? 0 : hdr->next_uid - 1);
	sic_index_known_state(mbox, view, &known);
	if (known.uidvalidity == hdr->uid_validity)
		index_r->highest_modseq = known.highest_modseq;
}

/* Applies what the remote told under the index's sync lock: the user's
   other sessions share this index, and one that synced in between could
   otherwise have its newer state undone, or the same messages appended
   twice. News asked before the lock (sic_sync_ask_ahead) that such a
   session went past wait for the next sync; a folder listed whole or
   selected again is asked under the lock, held for the remote's answer at
   most shared_imapc_command_timeout (as the built-in imapc does). The
   user's own changes the sync may list are left for sic_sync_push_local.
   -2 when the core failed (error_r set). */
static int sic_sync_locked(struct sic_mailbox *mbox, bool quick,
			   struct sic_error *error_r)
{
	struct mail_index_sync_ctx *sync_ctx;
	struct mail_index_view *view;
	struct mail_index_transaction *trans;
	struct sic_local_index index;
	struct sic_local_messages local;
	struct sic_sync *plan = NULL;
	struct sic_change change;
	struct sic_sync_summary summary;
	struct sic_sync_info info;
	const uint32_t *ranges = NULL;
	unsigned int i, count, range_count = 0;
	int needed;

	i_zero(&summary);
	if (mail_index_sync_begin(mbox->box.index, &sync_ctx, &view, &trans,
				  0) < 0) {
		mailbox_set_index_error(&mbox->box);
		return -1;
	}
	sic_sync_local_index(mbox, view, &index);
	/* After a QRESYNC the core needs only the messages that changed. */
	needed = sic_folder_sync_begin(mbox->folder, index.uidvalidity,
				       sic_local_last_uid(view), quick ? 1 : 0,
				       sic_index_asked_at(mbox, view),
				       &ranges, &range_count, error_r);
	if (needed >= 0) {
		sic_local_messages_read(view, needed == 0 ? NULL : ranges,
					range_count, &local);
		count = array_count(&local.uids);
		plan = sic_folder_sync_plan(mbox->folder, &index,
			count == 0 ? NULL : array_front(&local.uids),
			count == 0 ? NULL : array_front(&local.flags),
			count == 0 ? NULL : array_front(&local.keywords),
			count, error_r);
	}
	if (plan == NULL) {
		mail_index_sync_rollback(&sync_ctx);
		return -2;
	}
	sic_sync_info(plan, &info);
	for (i = 0; i < info.change_count; i++) {
		if (sic_sync_get(plan, i, &change) == 0) {
			sic_sync_apply(trans, &change);
			sic_sync_note(&summary, &change);
		}
	}
	sic_sync_debug(mbox, index.highest_modseq, &summary, info.uidnext,
		       info.highest_modseq);
	sic_sync_header(mbox, trans, view, &info);
	sic_sync_free(plan);
	if (mail_index_sync_commit(&sync_ctx) < 0) {
		mailbox_set_index_error(&mbox->box);
		return -1;
	}
	return 0;
}

/* Asks the remote for news before the sync takes the index's lock (see
   sic_folder_ask_ahead()), with what the index has now. */
static int sic_sync_ask_ahead(struct sic_mailbox *mbox,
			      struct sic_error *error_r)
{
	struct mail_index_view *view;
	uint32_t last_uid;
	uint64_t asked_at;

	if (mail_index_refresh(mbox->box.index) < 0) {
		mailbox_set_index_error(&mbox->box);
		return -1;
	}
	view = mail_index_view_open(mbox->box.index);
	last_uid = sic_local_last_uid(view);
	asked_at = sic_index_asked_at(mbox, view);
	mail_index_view_close(&view);
	return sic_folder_ask_ahead(mbox->folder, last_uid, asked_at, error_r) < 0 ?
		-2 : 0;
}

static int sic_sync_index(struct sic_mailbox *mbox, bool quick,
			  uint64_t command_began)
{
	struct sic_error error;
	bool created_cache;
	int ret;

	/* After most commands nothing has come in: no need to read the
	   whole local index for that. */
	i_zero(&error);
	ret = sic_folder_has_news(mbox->folder, quick ? 1 : 0, command_began,
				  &error);
	if (ret <= 0) {
		if (ret < 0)
			sic_storage_report(mbox->box.storage, &error);
		return ret;
	}
	ret = quick ? 0 : sic_sync_ask_ahead(mbox, &error);
	if (ret == 0) {
		created_cache = sic_mailbox_create_cache_file(&mbox->box);
		ret = sic_sync_locked(mbox, quick, &error);
		if (created_cache)
			sic_mailbox_drop_unused_cache_fields(&mbox->box);
	}
	if (ret != -2)
		return ret;
	sic_storage_report(mbox->box.storage, &error);
	/* The owner's server has the open folder no more (deleted, renamed,
	   the rights gone): as with a folder deleted under a Dovecot
	   session, imap then tells the client to log in again. */
	if (sic_mail_error(error.kind) == MAIL_ERROR_NOTFOUND)
		mailbox_set_deleted(&mbox->box);
	return -1;
}

/* When the user's command began, in µs since the epoch: as the imap module
   noted it for the selected folder (taken once), else Dovecot's ioloop
   time, that of the wakeup that runs the sync (the remote's answers are
   waited for outside the ioloop). */
static uint64_t sic_command_began(struct sic_mailbox *mbox)
{
	uint64_t now = (uint64_t)ioloop_timeval.tv_sec * 1000000 +
		(uint64_t)ioloop_timeval.tv_usec;
	uint64_t noted = mbox->command_began;

	mbox->command_began = 0;
	return noted != 0 && noted < now ? noted : now;
}

struct mailbox_sync_context *
sic_mailbox_sync_init(struct mailbox *box, enum mailbox_sync_flags flags)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(box);
	int ret = 0;

	if (!box->opened && mailbox_open(box) < 0)
		ret = -1;
	if (ret == 0 && mbox->folder != NULL) T_BEGIN {
		int pushed = sic_sync_push_local(mbox);

		/* What the remote made of the changes passed on came with
		   its answers (the flags they have now, VANISHED), and so did
		   all other news as of then: as good as a NOOP. */
		ret = sic_sync_index(mbox, pushed > 0 ||
				     (flags & MAILBOX_SYNC_FLAG_FAST) != 0,
				     sic_command_began(mbox));
		/* An expunge refused (here or by the owner's server, whose
		   reason the push left) fails the EXPUNGE (or MOVE) that asked
		   for it. */
		if ((flags & MAILBOX_SYNC_FLAG_EXPUNGE) != 0 && ret == 0 &&
		    (pushed < 0 || mbox->expunge_refused)) {
			if (pushed >= 0)
				mail_storage_set_error(box->storage, MAIL_ERROR_PERM,
						       MAIL_ERRSTR_NO_PERMISSION);
			ret = -1;
		}
	} T_END;
	mbox->expunge_refused = FALSE;
	return index_mailbox_sync_init(box, flags, ret < 0);
}

static void sic_mailbox_idle_check(struct sic_mailbox *mbox)
{
	mbox->box.notify_callback(&mbox->box, mbox->box.notify_context);
}

/* Stops watching: no io, no timeouts (the remote IDLE may go on). */
static void sic_mailbox_idle_unwatch(struct sic_mailbox *mbox)
{
	timeout_remove(&mbox->to_idle);
	timeout_remove(&mbox->to_idle_start);
	if (mbox->io_idle != NULL) {
		io_remove(&mbox->io_idle);
		i_close_fd(&mbox->idle_fd);
	}
}

/* News (or time to renew the IDLE): the remote IDLE ends, and the
   callback makes the imap process sync; the sync's end starts it again. */
static void sic_mailbox_idle_wake(struct sic_mailbox *mbox)
{
	sic_mailbox_idle_unwatch(mbox);
	sic_folder_idle_stop(mbox->folder);
	sic_mailbox_idle_check(mbox);
}

/* Without a remote IDLE: check the remote every
   mailbox_idle_check_interval (the sync asks it with a NOOP). A broken
   connection is opened again by that sync. */
static void sic_mailbox_idle_poll(struct sic_mailbox *mbox)
{
	unsigned int interval = mbox->box.storage->set->mailbox_idle_check_interval;

	sic_mailbox_idle_unwatch(mbox);
	mbox->to_idle = timeout_add((interval == 0 ? 30 : interval) * 1000,
				    sic_mailbox_idle_check, mbox);
}

static void sic_mailbox_idle_input(struct sic_mailbox *mbox)
{
	switch (sic_folder_idle_check(mbox->folder)) {
	case 1:
		sic_mailbox_idle_wake(mbox);
		break;
	case -1:
		sic_mailbox_idle_poll(mbox);
		break;
	}
}

static void sic_mailbox_idle_start(struct sic_mailbox *mbox)
{
	unsigned int renew_msecs;
	int fd;

	sic_mailbox_idle_unwatch(mbox);
	fd = sic_folder_idle_start(mbox->folder, &renew_msecs);
	if (fd < 0) {
		sic_mailbox_idle_poll(mbox);
		return;
	}
	mbox->idle_fd = fd;
	mbox->io_idle = io_add(fd, IO_READ, sic_mailbox_idle_input, mbox);
	mbox->to_idle = timeout_add(renew_msecs, sic_mailbox_idle_wake, mbox);
	/* What came with the IDLE's answer is read already: the socket
	   will not tell of it. */
	sic_mailbox_idle_input(mbox);
}

static void sic_mailbox_idle_start_later(struct sic_mailbox *mbox)
{
	if (mbox->to_idle_start == NULL) {
		mbox->to_idle_start =
			timeout_add_short(0, sic_mailbox_idle_start, mbox);
	}
}

/* IDLE: the folder's remote session IDLEs on the owner's server, and what
   it hears there makes the imap process sync at once. It starts after the
   sync imap runs now (whose NOOP would end it at once). Where the remote
   has no IDLE, the remote is checked every mailbox_idle_check_interval. */
void sic_mailbox_notify_changes(struct mailbox *box)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(box);

	sic_mailbox_idle_unwatch(mbox);
	if (box->notify_callback == NULL) {
		sic_folder_idle_stop(mbox->folder);
		return;
	}
	sic_mailbox_idle_start_later(mbox);
}

/* A sync while the client idles ended the remote IDLE (its commands end
   it): the IDLE starts again once the sync is done. */
int sic_mailbox_sync_deinit(struct mailbox_sync_context *ctx,
			    struct mailbox_sync_status *status_r)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(ctx->box);
	int ret = index_mailbox_sync_deinit(ctx, status_r);

	if (mbox->box.notify_callback != NULL && mbox->folder != NULL)
		sic_mailbox_idle_start_later(mbox);
	return ret;
}

void sic_mailbox_idle_close(struct sic_mailbox *mbox)
{
	sic_mailbox_idle_unwatch(mbox);
	sic_folder_idle_stop(mbox->folder);
}
