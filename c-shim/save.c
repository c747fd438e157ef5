/* Saving into a shared folder. APPEND, and COPY or MOVE from another
   owner's folder (which Dovecot does by saving): the message is read whole,
   then APPENDed on the owner's server with its flags and date. COPY or MOVE
   from a folder of the same owner: one UID COPY (UID MOVE) on the owner's
   server at commit, nothing downloaded. The owner's server checks the
   rights; the messages reach the local index at the next sync. The UIDs
   the owner's server gave go to the client ([APPENDUID], [COPYUID]). */
#include "shim.h"
#include "buffer.h"
#include "istream.h"
#include "istream-crlf.h"
#include "mail-copy.h"
#include "storage.h"

struct sic_save_context {
	struct mail_save_context ctx;
	struct istream *input;
	buffer_t *message;
	/* Where the owner's server saved the messages of this transaction,
	   unless it did not say for one of them (uids_unknown). */
	uint32_t uid_validity;
	ARRAY_TYPE(seq_range) saved_uids;
	bool uids_unknown;
	/* Messages of another folder of the same owner, copied (or moved) by
	   the owner's server at commit. */
	struct sic_mailbox *copy_source;
	ARRAY(uint32_t) copy_uids;
	bool copy_moving;
};

#define SIC_SAVE_CONTEXT(s) (container_of(s, struct sic_save_context, ctx))

struct mail_save_context *sic_save_alloc(struct mailbox_transaction_context *t)
{
	struct sic_save_context *ctx;

	if (t->save_ctx == NULL) {
		ctx = i_new(struct sic_save_context, 1);
		ctx->ctx.transaction = t;
		i_array_init(&ctx->saved_uids, 8);
		i_array_init(&ctx->copy_uids, 8);
		t->save_ctx = &ctx->ctx;
	}
	return t->save_ctx;
}

static void sic_save_reset(struct sic_save_context *ctx)
{
	i_stream_unref(&ctx->input);
	buffer_free(&ctx->message);
}

int sic_save_begin(struct mail_save_context *_ctx, struct istream *input)
{
	struct sic_save_context *ctx = SIC_SAVE_CONTEXT(_ctx);

	sic_save_reset(ctx);
	ctx->input = i_stream_create_crlf(input);
	ctx->message = buffer_create_dynamic(default_pool, 4096);
	return 0;
}

int sic_save_continue(struct mail_save_context *_ctx)
{
	struct sic_save_context *ctx = SIC_SAVE_CONTEXT(_ctx);
	const unsigned char *data;
	size_t size;

	while (i_stream_read_more(ctx->input, &data, &size) > 0) {
		buffer_append(ctx->message, data, size);
		i_stream_skip(ctx->input, size);
	}
	if (ctx->input->stream_errno != 0) {
		mail_set_critical(_ctx->dest_mail, "shared_imapc: read(%s) failed: %s",
				  i_stream_get_name(ctx->input),
				  i_stream_get_error(ctx->input));
		return -1;
	}
	return 0;
}

/* The keyword names of the saved message, NULL-terminated. */
static const char *const *sic_save_keywords(struct mail_save_context *_ctx)
{
	const struct mail_keywords *keywords = _ctx->data.keywords;
	ARRAY_TYPE(const_string) names;
	const ARRAY_TYPE(keywords) *all;
	unsigned int i;

	t_array_init(&names, 8);
	if (keywords != NULL) {
		all = mail_index_get_keywords(keywords->index);
		for (i = 0; i < keywords->count; i++) {
			if (keywords->idx[i] < array_count(all))
				array_push_back(&names, array_idx(all, keywords->idx[i]));
		}
	}
	array_append_zero(&names);
	return array_front(&names);
}

/* Notes where a message went, for the client's [APPENDUID]/[COPYUID]:
   all of the transaction's messages or none. */
static void sic_save_note_uid(struct sic_save_context *ctx,
			      const struct sic_saved *saved)
{
	if (saved->uid == 0 || (ctx->uid_validity != 0 &&
				saved->uidvalidity != ctx->uid_validity) ||
	    seq_range_exists(&ctx->saved_uids, saved->uid)) {
		ctx->uids_unknown = TRUE;
		return;
	}
	ctx->uid_validity = saved->uidvalidity;
	seq_range_array_add(&ctx->saved_uids, saved->uid);
}

int sic_save_finish(struct mail_save_context *_ctx)
{
	struct sic_save_context *ctx = SIC_SAVE_CONTEXT(_ctx);
	struct mailbox *box = _ctx->transaction->box;
	struct sic_mailbox *mbox = SIC_MAILBOX(box);
	struct sic_saved saved;
	struct sic_error error;
	int ret = -1;

	i_zero(&error);
	i_zero(&saved);
	if (mbox->folder == NULL) {
		mail_storage_set_error(box->storage, MAIL_ERROR_NOTFOUND,
				       T_MAIL_ERR_MAILBOX_NOT_FOUND(box->vname));
	} else T_BEGIN {
		ret = sic_folder_append(mbox->folder, ctx->message->data,
			ctx->message->used, (uint8_t)(_ctx->data.flags & MAIL_FLAGS_NONRECENT),
			sic_save_keywords(_ctx),
			_ctx->data.received_date != (time_t)-1,
			_ctx->data.received_date, _ctx->data.received_tz_offset,
			&saved, &error);
		if (ret < 0)
			sic_mailbox_report(box, &error);
		else
			sic_save_note_uid(ctx, &saved);
	} T_END;
	sic_save_reset(ctx);
	index_save_context_free(_ctx);
	return ret;
}

void sic_save_cancel(struct mail_save_context *_ctx)
{
	sic_save_reset(SIC_SAVE_CONTEXT(_ctx));
	index_save_context_free(_ctx);
}

static void sic_save_free(struct mail_save_context *_ctx)
{
	struct sic_save_context *ctx = SIC_SAVE_CONTEXT(_ctx);

	sic_save_reset(ctx);
	array_free(&ctx->saved_uids);
	array_free(&ctx->copy_uids);
	i_free(ctx);
}

int sic_copy(struct mail_save_context *_ctx, struct mail *mail)
{
	struct sic_save_context *ctx = SIC_SAVE_CONTEXT(_ctx);
	struct mailbox *source = mail->box;

	/* Same storage: the same owner's namespace. One source folder per
	   transaction (as one COPY or MOVE command has). */
	if (source->storage != _ctx->transaction->box->storage ||
	    SIC_MAILBOX(source)->folder == NULL ||
	    (ctx->copy_source != NULL && ctx->copy_source != SIC_MAILBOX(source)))
		return mail_storage_copy(_ctx, mail);
	ctx->copy_source = SIC_MAILBOX(source);
	ctx->copy_moving = _ctx->moving;
	array_push_back(&ctx->copy_uids, &mail->uid);
	index_save_context_free(_ctx);
	return 0;
}

/* The owner's server copies the batched messages; their new UIDs follow
   any appended ones. */
static int sic_save_copy_batch(struct sic_save_context *ctx)
{
	struct mailbox *box = ctx->ctx.transaction->box;
	unsigned int i, count = array_count(&ctx->copy_uids);
	struct sic_saved saved;
	struct sic_error error;
	uint32_t *dest_uids;

	if (count == 0)
		return 0;
	i_zero(&error);
	i_zero(&saved);
	dest_uids = t_new(uint32_t, count);
	if (sic_folder_copy(ctx->copy_source->folder,
			    sic_mailbox_folder_name(box),
			    array_front(&ctx->copy_uids), count,
			    ctx->copy_moving ? 1 : 0, &saved.uidvalidity,
			    dest_uids, &error) < 0) {
		sic_mailbox_report(box, &error);
		return -1;
	}
	for (i = 0; i < count; i++) {
		saved.uid = saved.uidvalidity == 0 ? 0 : dest_uids[i];
		sic_save_note_uid(ctx, &saved);
	}
	return 0;
}

int sic_save_commit_pre(struct mail_save_context *_ctx)
{
	struct sic_save_context *ctx = SIC_SAVE_CONTEXT(_ctx);
	struct mail_transaction_commit_changes *changes =
		_ctx->transaction->changes;
	int ret;

	T_BEGIN {
		ret = sic_save_copy_batch(ctx);
	} T_END;
	if (ret < 0)
		return -1;
	if (!ctx->uids_unknown && array_count(&ctx->saved_uids) > 0) {
		changes->uid_validity = ctx->uid_validity;
		array_append_array(&changes->saved_uids, &ctx->saved_uids);
	}
	return 0;
}

void sic_save_commit_post(struct mail_save_context *ctx,
			  struct mail_index_transaction_commit_result *result ATTR_UNUSED)
{
	sic_save_free(ctx);
}

void sic_save_rollback(struct mail_save_context *ctx)
{
	sic_save_free(ctx);
}
