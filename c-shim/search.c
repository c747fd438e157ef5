/* Searches in shared folders. Dovecot's imap runs FETCH, SEARCH and SORT as
   mailbox searches; here the Rust core is told what they need:
   - FETCH: the items, fetched in one command for every message of the set
     whose local cache file lacks some of them;
   - SEARCH: the keys, each written as IMAP by Dovecot. The core decides
     which the remote evaluates and asks it in one command; each of those
     keys is then replaced by the messages the remote matched, so Dovecot
     evaluates the rest (flags, sets, its own keys) from the local index,
     and gets back what it was at the end: a search result Dovecot keeps
     up to date (SEARCH RETURN (UPDATE)) evaluates it again after syncs;
   - SORT: when the remote sorts, it gets every key, and the matches are
     returned in its order. */
#include "shim.h"
#include "str.h"
#include "mail-search.h"
#include "mail-cache.h"
#include "module-context.h"
#include "mailbox-search-result-private.h"
#include "storage.h"

#define SIC_SEARCH_CONTEXT(obj) MODULE_CONTEXT(obj, sic_search_module)

/* A key the remote evaluated, as Dovecot gave it, and the messages that
   stand for it meanwhile. */
struct sic_replaced_key {
	struct mail_search_arg *arg;
	struct mail_search_arg original;
	ARRAY_TYPE(seq_range) seqs;
};

/* A search the remote took part in (or that failed). */
struct sic_search_context {
	union mail_search_module_context module_ctx;
	/* When the remote sorted: the local sequences of its matches, in
	   its order. */
	ARRAY(uint32_t) seqs;
	unsigned int next;
	ARRAY(struct sic_replaced_key) replaced;
	bool sorted;
	bool failed;
	/* The arguments were initialized here (see sic_search_init). */
	bool args_initialized;
};

static MODULE_CONTEXT_DEFINE_INIT(sic_search_module,
				  &mail_storage_module_register);

static uint32_t sic_wanted(enum mail_fetch_field fields,
			   struct mailbox_header_lookup_ctx *headers)
{
	uint32_t wanted = 0;

	if ((fields & (MAIL_FETCH_RECEIVED_DATE | MAIL_FETCH_SAVE_DATE)) != 0)
		wanted |= SIC_WANT_INTERNALDATE;
	if ((fields & (MAIL_FETCH_PHYSICAL_SIZE | MAIL_FETCH_VIRTUAL_SIZE)) != 0)
		wanted |= SIC_WANT_SIZE;
	if ((fields & MAIL_FETCH_IMAP_ENVELOPE) != 0)
		wanted |= SIC_WANT_ENVELOPE;
	if ((fields & MAIL_FETCH_IMAP_BODYSTRUCTURE) != 0)
		wanted |= SIC_WANT_BODYSTRUCTURE;
	if ((fields & MAIL_FETCH_IMAP_BODY) != 0)
		wanted |= SIC_WANT_BODY;
	if ((fields & MAIL_FETCH_GUID) != 0)
		wanted |= SIC_WANT_GUID;
	/* A body read whole; a header alone (HEADER, HEADER.FIELDS, a
	   message list) costs no attachments. */
	if ((fields & MAIL_FETCH_STREAM_BODY) != 0)
		wanted |= SIC_WANT_MESSAGE;
	else if ((fields & MAIL_FETCH_STREAM_HEADER) != 0 || headers != NULL)
		wanted |= SIC_WANT_HEADER;
	return wanted;
}

/* What a FETCH needs from the remote, and what tells whether a message's
   cache file entry has it already. */
struct sic_prefetch {
	struct mailbox_transaction_context *t;
	uint32_t wanted;
	/* The header fields wanted (HEADER.FIELDS): cached once read. */
	struct mailbox_header_lookup_ctx *headers;
	/* The whole header is wanted (BODY[HEADER]): see mail.c. */
	bool header_stream;
};

static bool sic_cache_has(struct mailbox_transaction_context *t, uint32_t seq,
			  unsigned int field_idx)
{
	return mail_cache_field_exists(t->cache_view, seq, field_idx) > 0;
}

/* Whether the message's cache file entry has every header field wanted
   (Dovecot caches the fields it parsed, an absent one as empty). */
static bool sic_cached_headers(const struct sic_prefetch *p, uint32_t seq)
{
	unsigned int i;

	/* The whole header read once (see mail.c) has every field. */
	if (sic_cache_has(p->t, seq, SIC_MAILBOX(p->t->box)->header_cache_idx))
		return TRUE;
	if (p->header_stream)
		return FALSE;
	if (p->headers == NULL)
		return TRUE;
	for (i = 0; i < p->headers->count; i++) {
		if (!sic_cache_has(p->t, seq, p->headers->idx[i]))
			return FALSE;
	}
	return TRUE;
}

/* Whether the message's cache file entry (see mail.c) has all of wanted;
   whole messages are never cached. */
static bool sic_cached_all(const struct sic_prefetch *p, uint32_t seq)
{
	struct mailbox_transaction_context *t = p->t;
	struct index_mailbox_context *ibox = INDEX_STORAGE_CONTEXT(t->box);
	const struct mail_cache_field *fields = ibox->cache_fields;
	uint32_t wanted = p->wanted;

	if ((wanted & SIC_WANT_MESSAGE) != 0)
		return FALSE;
	if ((wanted & SIC_WANT_HEADER) != 0 && !sic_cached_headers(p, seq))
		return FALSE;
	if ((wanted & SIC_WANT_INTERNALDATE) != 0 &&
	    !sic_cache_has(t, seq, fields[MAIL_CACHE_RECEIVED_DATE].idx))
		return FALSE;
	if ((wanted & SIC_WANT_SIZE) != 0 &&
	    !sic_cache_has(t, seq, fields[MAIL_CACHE_VIRTUAL_FULL_SIZE].idx))
		return FALSE;
	if ((wanted & SIC_WANT_ENVELOPE) != 0 &&
	    !sic_cache_has(t, seq, SIC_MAILBOX(t->box)->envelope_cache_idx))
		return FALSE;
	/* BODY is derived from a cached BODYSTRUCTURE too. */
	if ((wanted & (SIC_WANT_BODYSTRUCTURE | SIC_WANT_BODY)) != 0 &&
	    !sic_cache_has(t, seq, fields[MAIL_CACHE_IMAP_BODYSTRUCTURE].idx) &&
	    ((wanted & SIC_WANT_BODYSTRUCTURE) != 0 ||
	     !sic_cache_has(t, seq, fields[MAIL_CACHE_IMAP_BODY].idx)))
		return FALSE;
	if ((wanted & SIC_WANT_GUID) != 0 &&
	    !sic_cache_has(t, seq, fields[MAIL_CACHE_GUID].idx))
		return FALSE;
	return TRUE;
}

static void sic_search_add_uids(const struct sic_prefetch *p,
				uint32_t first, uint32_t last,
				ARRAY_TYPE(uint32_t) *uids)
{
	uint32_t seq, uid;

	for (seq = first; seq <= last; seq++) {
		if (sic_cached_all(p, seq))
			continue;
		mail_index_lookup_uid(p->t->box->view, seq, &uid);
		array_push_back(uids, &uid);
	}
}

/* The UIDs of a FETCH-style search (one sequence set or ALL) that need
   something from the remote, or FALSE. */
static bool sic_search_fetch_uids(const struct sic_prefetch *p,
				  const struct mail_search_args *args,
				  ARRAY_TYPE(uint32_t) *uids)
{
	const struct mail_search_arg *arg = args->args;
	const struct seq_range *range;
	uint32_t count = mail_index_view_get_messages_count(p->t->box->view);

	if (arg == NULL || arg->next != NULL || arg->match_not)
		return FALSE;
	if (arg->type == SEARCH_ALL) {
		sic_search_add_uids(p, 1, count, uids);
		return TRUE;
	}
	if (arg->type != SEARCH_SEQSET)
		return FALSE;
	array_foreach(&arg->value.seqset, range) {
		sic_search_add_uids(p, range->seq1, I_MIN(range->seq2, count),
				    uids);
	}
	return TRUE;
}

/* FALSE with the storage error set when the remote failed: the FETCH then
   answers NO before sending anything (a failure halfway would cost the
   client its connection). */
static bool sic_search_prefetch_some(const struct sic_prefetch *p,
				     struct mail_search_args *args)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(p->t->box);
	ARRAY_TYPE(uint32_t) uids;
	struct sic_error error;

	t_array_init(&uids, 128);
	i_zero(&error);
	if (!sic_search_fetch_uids(p, args, &uids) || array_is_empty(&uids))
		return TRUE;
	if (sic_folder_prefetch(mbox->folder, array_front(&uids),
				array_count(&uids), p->wanted, &error) < 0) {
		sic_storage_report(p->t->box->storage, &error);
		return FALSE;
	}
	return TRUE;
}

/* Whole messages are read for every message of the set (they are not
   cached); the rest, headers among them, only for messages whose cache
   entry lacks it. */
static bool sic_search_prefetch(struct mailbox_transaction_context *t,
				struct mail_search_args *args,
				enum mail_fetch_field fields,
				struct mailbox_header_lookup_ctx *headers)
{
	struct sic_prefetch p = {
		.t = t,
		.wanted = SIC_WANT_MESSAGE,
		.headers = headers,
		.header_stream = (fields & MAIL_FETCH_STREAM_HEADER) != 0,
	};
	uint32_t wanted = sic_wanted(fields, headers);

	if ((wanted & SIC_WANT_MESSAGE) != 0 &&
	    !sic_search_prefetch_some(&p, args))
		return FALSE;
	p.wanted = wanted & ~SIC_WANT_MESSAGE;
	return p.wanted == 0 || sic_search_prefetch_some(&p, args);
}

/* The remote's SORT criteria for Dovecot's sort program; NULL when some
   criterion is Dovecot's own. */
static const char *const *sic_sort_criteria(const enum mail_sort_type *program)
{
	static const struct {
		enum mail_sort_type type;
		const char *name;
	} names[] = {
		{ MAIL_SORT_ARRIVAL, "ARRIVAL" },
		{ MAIL_SORT_CC, "CC" },
		{ MAIL_SORT_DATE, "DATE" },
		{ MAIL_SORT_FROM, "FROM" },
		{ MAIL_SORT_SIZE, "SIZE" },
		{ MAIL_SORT_SUBJECT, "SUBJECT" },
		{ MAIL_SORT_TO, "TO" },
		{ MAIL_SORT_DISPLAYFROM, "DISPLAYFROM" },
		{ MAIL_SORT_DISPLAYTO, "DISPLAYTO" },
	};
	ARRAY_TYPE(const_string) criteria;
	const char *name;
	unsigned int i, j;

	if (program == NULL)
		return NULL;
	t_array_init(&criteria, 8);
	for (i = 0; program[i] != MAIL_SORT_END; i++) {
		if ((program[i] & MAIL_SORT_FLAG_REVERSE) != 0) {
			name = "REVERSE";
			array_push_back(&criteria, &name);
		}
		for (j = 0; j < N_ELEMENTS(names); j++) {
			if (names[j].type == (program[i] & MAIL_SORT_MASK))
				break;
		}
		if (j == N_ELEMENTS(names))
			return NULL;
		array_push_back(&criteria, &names[j].name);
	}
	array_append_zero(&criteria);
	return array_front(&criteria);
}

/* Asks the remote; NULL when nothing goes there (or on failure, with
   *failed_r set and the storage error set). */
static struct sic_search *
sic_search_remote(struct mailbox *box, const struct mail_search_args *args,
		  const enum mail_sort_type *sort_program, bool *failed_r)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(box);
	ARRAY_TYPE(const_string) keys;
	struct sic_search *result;
	struct sic_error error;

	*failed_r = FALSE;
	sic_search_keys(box, args, &keys);
	i_zero(&error);
	result = sic_folder_search(mbox->folder,
		array_is_empty(&keys) ? NULL : array_front(&keys),
		array_count(&keys), sic_sort_criteria(sort_program), &error);
	if (result == NULL) {
		sic_storage_report(box->storage, &error);
		*failed_r = TRUE;
		return NULL;
	}
	if (!sic_search_is_remote(result)) {
		sic_search_free(result);
		return NULL;
	}
	return result;
}

/* Each key the remote evaluated becomes the local sequences of the
   messages it matched (sets went along, and stay: the local index answers
   them alike). A sequence set, unlike a UID set, is not what Dovecot
   calls static: a message the remote did not match (its flags may change)
   is never taken for one that can never match. */
static void sic_search_replace_remote_keys(struct mailbox *box,
					   struct mail_search_args *args,
					   struct sic_search *result,
					   struct sic_search_context *sctx)
{
	struct sic_replaced_key *key;
	struct mail_search_arg *arg;
	const uint32_t *uids;
	unsigned int i, count, index = 0;
	uint32_t seq;

	uids = sic_search_uids(result, &count);
	for (arg = args->args; arg != NULL; arg = arg->next) {
		if (sic_search_key_is_remote(result, index++) == 0 ||
		    arg->type == SEARCH_SEQSET || arg->type == SEARCH_UIDSET)
			continue;
		key = array_append_space(&sctx->replaced);
		key->arg = arg;
		key->original = *arg;
		i_array_init(&key->seqs, count / 4 + 1);
		for (i = 0; i < count; i++) {
			if (mail_index_lookup_seq(box->view, uids[i], &seq))
				seq_range_array_add(&key->seqs, seq);
		}
		arg->type = SEARCH_SEQSET;
		arg->match_not = FALSE;
		arg->value.seqset = key->seqs;
	}
}

static void sic_search_result_analyze(struct mail_search_result *result,
				      const struct mail_search_arg *arg)
{
	for (; arg != NULL; arg = arg->next) {
		if (arg->type == SEARCH_OR || arg->type == SEARCH_SUB)
			sic_search_result_analyze(result, arg->value.subargs);
		else if (arg->type == SEARCH_FLAGS)
			result->args_have_flags = TRUE;
		else if (arg->type == SEARCH_KEYWORDS)
			result->args_have_keywords = TRUE;
		else if (arg->type == SEARCH_MODSEQ)
			result->args_have_modseq = TRUE;
	}
}

/* A key put back after its arguments were deinitialized (Dovecot's
   update of a search result does that before it ends the search): what
   the deinitialization skipped while it was a sequence set. */
static void sic_search_key_deinit(struct mail_search_arg *arg)
{
	struct mail_search_arg *next = arg->next;

	arg->next = NULL;
	mail_search_arg_deinit(arg);
	arg->next = next;
}

/* The replaced keys get back what they were. A search result Dovecot
   keeps up to date holds these arguments, and learned from the replaced
   ones which changes concern it: it learns it again. */
static void sic_search_restore_keys(struct mail_search_context *ctx,
				    struct sic_search_context *sctx)
{
	struct mail_search_result *result;
	struct sic_replaced_key *key;

	if (array_is_empty(&sctx->replaced))
		return;
	array_foreach_modifiable(&sctx->replaced, key) {
		*key->arg = key->original;
		if (ctx->args->init_refcount == 0)
			sic_search_key_deinit(key->arg);
		array_free(&key->seqs);
	}
	array_foreach_elem(&ctx->results, result) {
		if (result->search_args == ctx->args)
			sic_search_result_analyze(result, ctx->args->args);
	}
}

static void sic_search_take_order(struct mail_search_context *ctx,
				  struct sic_search_context *sctx,
				  struct sic_search *result)
{
	const uint32_t *uids;
	unsigned int i, count;
	uint32_t seq;

	uids = sic_search_uids(result, &count);
	for (i = 0; i < count; i++) {
		if (mail_index_lookup_seq(ctx->transaction->box->view, uids[i], &seq))
			array_push_back(&sctx->seqs, &seq);
	}
}

struct mail_search_context *
sic_search_init(struct mailbox_transaction_context *t,
		struct mail_search_args *args,
		const enum mail_sort_type *sort_program,
		enum mail_fetch_field wanted_fields,
		struct mailbox_header_lookup_ctx *wanted_headers)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(t->box);
	struct mail_search_context *ctx;
	struct sic_search_context *sctx;
	struct sic_search *result = NULL;
	bool failed = FALSE;

	sctx = i_new(struct sic_search_context, 1);
	i_array_init(&sctx->seqs, 64);
	i_array_init(&sctx->replaced, 4);
	/* Dovecot's update of a search result with new messages
	   (index_search_result_update_appends) searches with arguments
	   the SEARCH command has deinitialized: a KEYWORD key then crashed
	   the process (Dovecot 2.3.19 does so on its own storages too). */
	if (args->init_refcount == 0) {
		mail_search_args_init(args, t->box, FALSE, NULL);
		sctx->args_initialized = TRUE;
	}
	if (mbox->folder != NULL) T_BEGIN {
		result = sic_search_remote(t->box, args, sort_program, &failed);
		if (!failed)
			failed = !sic_search_prefetch(t, args, wanted_fields,
						      wanted_headers);
	} T_END;
	sctx->failed = failed;
	sctx->sorted = result != NULL && sic_search_is_sorted(result) != 0;
	if (result != NULL && !sctx->sorted)
		sic_search_replace_remote_keys(t->box, args, result, sctx);
	/* A remote sort replaces Dovecot's. */
	ctx = index_storage_search_init(t, args,
					sctx->sorted ? NULL : sort_program,
					wanted_fields, wanted_headers);
	if (sctx->sorted)
		sic_search_take_order(ctx, sctx, result);
	MODULE_CONTEXT_SET(ctx, sic_search_module, sctx);
	sic_search_free(result);
	return ctx;
}

/* The remote sorted with every key: each matches what it returned. */
static void sic_search_set_matched(struct mail_search_arg *arg)
{
	for (; arg != NULL; arg = arg->next) {
		if (arg->type == SEARCH_OR || arg->type == SEARCH_SUB)
			sic_search_set_matched(arg->value.subargs);
		arg->match_always = TRUE;
		arg->result = 1;
	}
}

bool sic_search_next_update_seq(struct mail_search_context *ctx)
{
	struct sic_search_context *sctx = SIC_SEARCH_CONTEXT(ctx);

	if (sctx->failed)
		return FALSE;
	if (!sctx->sorted)
		return index_storage_search_next_update_seq(ctx);
	if (sctx->next >= array_count(&sctx->seqs))
		return FALSE;
	ctx->seq = *array_idx(&sctx->seqs, sctx->next++);
	ctx->progress_cur = sctx->next;
	sic_search_set_matched(ctx->args->args);
	return TRUE;
}

int sic_search_deinit(struct mail_search_context *ctx)
{
	struct sic_search_context *sctx = SIC_SEARCH_CONTEXT(ctx);
	struct mail_search_args *args = ctx->args;
	bool failed = sctx->failed, args_initialized = sctx->args_initialized;
	int ret;

	sic_search_restore_keys(ctx, sctx);
	array_free(&sctx->replaced);
	array_free(&sctx->seqs);
	i_free(sctx);
	ret = index_storage_search_deinit(ctx);
	if (args_initialized)
		mail_search_args_deinit(args);
	return ret < 0 || failed ? -1 : 0;
}
