/* Messages of a shared folder: Dovecot's index mail, with what only the
   owner's server knows (INTERNALDATE, size, ENVELOPE, BODYSTRUCTURE, the
   message itself) taken from the Rust core, which fetches it for a whole
   FETCH at once (see search.c). What the owner's server sent is kept in the
   local index's cache file, so later sessions read it from there. */
#include "shim.h"
#include "str.h"
#include "istream.h"
#include "mail-cache.h"
#include "storage.h"

/* The remote's data for the mail with at least wanted; -1 with the
   storage error set, or the mail marked expunged. */
static int sic_mail_remote(struct mail *mail, uint32_t wanted,
			   struct sic_message *message_r)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(mail->box);
	struct sic_error error;
	int ret;

	/* Asked not to go past what is at hand (an expunge's GUID, a
	   search's first pass): the owner's server is further than that. */
	if (mail->lookup_abort != MAIL_LOOKUP_ABORT_NEVER) {
		mail_set_aborted(mail);
		return -1;
	}
	if (mbox->folder == NULL) {
		mail_storage_set_error(mail->box->storage, MAIL_ERROR_UNAVAILABLE,
				       "The shared folder is not open");
		return -1;
	}
	i_zero(&error);
	ret = sic_folder_message(mbox->folder, mail->uid, wanted, message_r,
				 &error);
	if (ret < 0) {
		sic_storage_report(mail->box->storage, &error);
		return -1;
	}
	if (ret == 0) {
		mail_set_expunged(mail);
		return -1;
	}
	return 0;
}

/* Keeps a field the remote sent in the cache file, unless the
   administrator's caching decisions say never. */
static void sic_mail_cache_add(struct index_mail *mail, unsigned int idx,
			       const void *data, size_t size)
{
	struct mail *_mail = &mail->mail.mail;

	if (mail_cache_field_can_add(_mail->transaction->cache_trans,
				     _mail->seq, idx))
		index_mail_cache_add_idx(mail, idx, data, size);
}

/* A string field from the cache file into *slot. */
static bool sic_mail_cached_string(struct index_mail *mail, unsigned int idx,
				   const char **slot)
{
	string_t *str = str_new(mail->mail.data_pool, 256);

	if (index_mail_cache_lookup_field(mail, str, idx) <= 0)
		return FALSE;
	*slot = str_c(str);
	return TRUE;
}

static int sic_mail_get_received_date(struct mail *_mail, time_t *date_r)
{
	struct index_mail *mail = INDEX_MAIL(_mail);
	struct sic_message message;

	if (index_mail_get_received_date(_mail, date_r) == 0)
		return 0;
	if (sic_mail_remote(_mail, SIC_WANT_INTERNALDATE, &message) < 0)
		return -1;
	mail->data.received_date = message.has_internaldate ?
		(time_t)message.internaldate : 0;
	*date_r = mail->data.received_date;
	return 0;
}

static int sic_mail_get_save_date(struct mail *_mail, time_t *date_r)
{
	/* The remote's save date is not asked for: its INTERNALDATE is the
	   closest it offers. */
	return sic_mail_get_received_date(_mail, date_r);
}

static int sic_mail_get_virtual_size(struct mail *_mail, uoff_t *size_r)
{
	struct index_mail *mail = INDEX_MAIL(_mail);
	struct sic_message message;

	if (index_mail_get_cached_virtual_size(mail, size_r))
		return 0;
	if (sic_mail_remote(_mail, SIC_WANT_SIZE, &message) < 0)
		return -1;
	/* RFC822.SIZE counts CRLF line ends, as the stream we hand out has.
	   Dovecot's close caches it (index_mail_cache_sizes). */
	mail->data.virtual_size = message.size;
	mail->data.physical_size = message.size;
	*size_r = message.size;
	return 0;
}

/* Whether reading the message means its body too: asked for it, or
   Dovecot will parse the body of the stream (MIME parts, attachment
   keywords), which a header alone would get wrong. */
static bool sic_mail_wants_body(struct index_mail *mail, bool get_body)
{
	const struct mail_storage_settings *set =
		mailbox_get_settings(mail->mail.mail.box);

	return get_body ||
		(mail->data.access_part & (READ_BODY | PARSE_BODY)) != 0 ||
		(set->parsed_mail_attachment_detection_add_flags &&
		 !set->parsed_mail_attachment_detection_no_flags_on_fetch);
}

/* The message's header as an earlier FETCH of any of the user's sessions
   kept it in the cache file, or NULL. */
static struct istream *sic_mail_cached_header(struct index_mail *mail)
{
	unsigned int idx = SIC_MAILBOX(mail->mail.mail.box)->header_cache_idx;
	string_t *header = t_str_new(1024);

	if (index_mail_cache_lookup_field(mail, header, idx) <= 0)
		return NULL;
	return i_stream_create_copy_from_data(str_data(header),
					      str_len(header));
}

/* The message (or its header alone) from the owner's server; a header
   alone is kept in the cache file for the user's other sessions. */
static struct istream *sic_mail_remote_stream(struct index_mail *mail,
					      bool whole, bool *header_only_r)
{
	struct mail *_mail = &mail->mail.mail;
	struct sic_message message;
	int fd;

	if (sic_mail_remote(_mail, whole ? SIC_WANT_MESSAGE : SIC_WANT_HEADER,
			    &message) < 0)
		return NULL;
	*header_only_r = message.header_only != 0;
	if (message.fd >= 0) {
		fd = message.fd;
		return i_stream_create_fd_autoclose(&fd, 0);
	}
	if (*header_only_r) {
		sic_mail_cache_add(mail,
			SIC_MAILBOX(_mail->box)->header_cache_idx,
			message.data, message.data_size);
	}
	return i_stream_create_copy_from_data(message.data, message.data_size);
}

/* Opens the message's stream: the whole message, or its header alone
   (BODY.PEEK[HEADER]) when no body is wanted, so that a message list
   costs no attachments. */
static int sic_mail_open_stream(struct mail *_mail, bool whole)
{
	struct index_mail *mail = INDEX_MAIL(_mail);
	struct istream *input = NULL;
	bool header_only = TRUE;

	if (!whole)
		input = sic_mail_cached_header(mail);
	if (input == NULL)
		input = sic_mail_remote_stream(mail, whole, &header_only);
	if (input == NULL)
		return -1;
	i_stream_set_name(input, t_strdup_printf(
		"shared_imapc %s UID %u%s", mailbox_get_vname(_mail->box),
		_mail->uid, header_only ? " header" : ""));
	/* A file stream made with no buffer size (a message above the
	   core's spill threshold) cannot be read at all otherwise. */
	index_mail_set_read_buffer_size(_mail, input);
	mail->data.stream = input;
	mail->data.stream_has_only_header = header_only;
	_mail->mail_stream_accessed = TRUE;
	if (mail->mail.v.istream_opened != NULL &&
	    mail->mail.v.istream_opened(_mail, &mail->data.stream) < 0)
		return -1;
	return 0;
}

static int sic_mail_get_stream(struct mail *_mail, bool get_body,
			       struct message_size *hdr_size,
			       struct message_size *body_size,
			       struct istream **stream_r)
{
	struct index_mail *mail = INDEX_MAIL(_mail);
	bool whole = sic_mail_wants_body(mail, get_body);

	if (mail->data.stream != NULL && mail->data.stream_has_only_header &&
	    whole) {
		/* The header came alone; the body is wanted now. Sizes
		   taken from the header stream are not reused. */
		index_mail_close_streams(mail);
		mail->data.hdr_size_set = FALSE;
		mail->data.body_size_set = FALSE;
	}
	if (mail->data.stream == NULL && sic_mail_open_stream(_mail, whole) < 0)
		return -1;
	return index_mail_init_stream(mail, hdr_size, body_size, stream_r);
}

/* MIME parts are parsed from the whole message, never from a header
   fetched alone. */
static int sic_mail_get_parts(struct mail *_mail, struct message_part **parts_r)
{
	struct index_mail *mail = INDEX_MAIL(_mail);
	enum index_mail_access_part old_access = mail->data.access_part;
	int ret;

	mail->data.access_part |= PARSE_BODY;
	ret = index_mail_get_parts(_mail, parts_r);
	if ((old_access & PARSE_BODY) == 0)
		mail->data.access_part &= ENUM_NEGATE(PARSE_BODY);
	return ret;
}

/* The owner's GUID for the message (FETCH X-GUID), else Dovecot's. */
static int sic_mail_get_guid(struct mail *_mail, const char **value_r)
{
	struct index_mail *mail = INDEX_MAIL(_mail);
	struct sic_message message;
	unsigned int cache_idx = mail->ibox->cache_fields[MAIL_CACHE_GUID].idx;

	if (mail->data.guid == NULL &&
	    !sic_mail_cached_string(mail, cache_idx, &mail->data.guid)) {
		if (sic_mail_remote(_mail, SIC_WANT_GUID, &message) < 0)
			return -1;
		if (message.guid == NULL)
			return index_mail_get_special(_mail, MAIL_FETCH_GUID, value_r);
		mail->data.guid = p_strdup(mail->mail.data_pool, message.guid);
		sic_mail_cache_add(mail, cache_idx, message.guid,
				   strlen(message.guid));
	}
	*value_r = mail->data.guid;
	return 0;
}

static int sic_mail_get_special(struct mail *_mail, enum mail_fetch_field field,
				const char **value_r)
{
	struct index_mail *mail = INDEX_MAIL(_mail);
	struct sic_message message;
	const struct mail_cache_field *fields = mail->ibox->cache_fields;
	unsigned int cache_idx;
	const char **slot, *value;
	uint32_t wanted;

	switch (field) {
	case MAIL_FETCH_IMAP_ENVELOPE:
		wanted = SIC_WANT_ENVELOPE;
		slot = &mail->data.envelope;
		cache_idx = SIC_MAILBOX(_mail->box)->envelope_cache_idx;
		if (*slot == NULL)
			(void)sic_mail_cached_string(mail, cache_idx, slot);
		break;
	case MAIL_FETCH_IMAP_BODYSTRUCTURE:
		wanted = SIC_WANT_BODYSTRUCTURE;
		slot = &mail->data.bodystructure;
		cache_idx = fields[MAIL_CACHE_IMAP_BODYSTRUCTURE].idx;
		(void)index_mail_get_cached_bodystructure(mail, slot);
		break;
	case MAIL_FETCH_IMAP_BODY:
		wanted = SIC_WANT_BODY;
		slot = &mail->data.body;
		cache_idx = fields[MAIL_CACHE_IMAP_BODY].idx;
		(void)index_mail_get_cached_body(mail, slot);
		break;
	case MAIL_FETCH_GUID:
		return sic_mail_get_guid(_mail, value_r);
	default:
		return index_mail_get_special(_mail, field, value_r);
	}
	/* As the owner's server wrote it, so it equals what the owner sees. */
	if (*slot == NULL) {
		if (sic_mail_remote(_mail, wanted, &message) < 0)
			return -1;
		value = wanted == SIC_WANT_ENVELOPE ? message.envelope :
			wanted == SIC_WANT_BODYSTRUCTURE ? message.bodystructure :
			message.body;
		if (value == NULL) {
			mail_storage_set_error(_mail->box->storage,
				MAIL_ERROR_UNAVAILABLE,
				"The owner's server did not send the message's structure");
			return -1;
		}
		*slot = p_strdup(mail->mail.data_pool, value);
		sic_mail_cache_add(mail, cache_idx, value, strlen(value));
	}
	*value_r = *slot;
	return 0;
}

/* Without the expunge right the message stays (the owner's server would
   refuse), and the EXPUNGE or MOVE asking for it answers NO: a MOVE must
   not say OK while the original stays where it was. */
static void sic_mail_expunge(struct mail *mail)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(mail->box);
	struct sic_error error;
	int may;

	i_zero(&error);
	may = mbox->folder == NULL ? 0 : sic_folder_may_expunge(mbox->folder, &error);
	if (may < 0)
		sic_storage_report(mail->box->storage, &error);
	if (may > 0)
		index_mail_expunge(mail);
	else
		mbox->expunge_refused = TRUE;
}

struct mail *sic_mail_alloc(struct mailbox_transaction_context *t,
			    enum mail_fetch_field wanted_fields,
			    struct mailbox_header_lookup_ctx *wanted_headers)
{
	pool_t pool = pool_alloconly_create("shared_imapc mail", 2048);
	struct index_mail *mail = p_new(pool, struct index_mail, 1);

	index_mail_init(mail, t, wanted_fields, wanted_headers, pool, NULL);
	return &mail->mail.mail;
}

struct mail_vfuncs sic_mail_vfuncs = {
	.close = index_mail_close,
	.free = index_mail_free,
	.set_seq = index_mail_set_seq,
	.set_uid = index_mail_set_uid,
	.set_uid_cache_updates = index_mail_set_uid_cache_updates,
	.prefetch = index_mail_prefetch,
	.precache = index_mail_precache,
	.add_temp_wanted_fields = index_mail_add_temp_wanted_fields,
	.get_flags = index_mail_get_flags,
	.get_keywords = index_mail_get_keywords,
	.get_keyword_indexes = index_mail_get_keyword_indexes,
	.get_modseq = index_mail_get_modseq,
	.get_pvt_modseq = index_mail_get_pvt_modseq,
	.get_parts = sic_mail_get_parts,
	.get_date = index_mail_get_date,
	.get_received_date = sic_mail_get_received_date,
	.get_save_date = sic_mail_get_save_date,
	.get_virtual_size = sic_mail_get_virtual_size,
	.get_physical_size = sic_mail_get_virtual_size,
	.get_first_header = index_mail_get_first_header,
	.get_headers = index_mail_get_headers,
	.get_header_stream = index_mail_get_header_stream,
	.get_stream = sic_mail_get_stream,
	.get_binary_stream = index_mail_get_binary_stream,
	.get_special = sic_mail_get_special,
	.get_backend_mail = index_mail_get_backend_mail,
	.update_flags = sic_mail_update_flags,
	.update_keywords = sic_mail_update_keywords,
	.update_modseq = index_mail_update_modseq,
	.update_pvt_modseq = index_mail_update_pvt_modseq,
	.expunge = sic_mail_expunge,
	.set_cache_corrupted = index_mail_set_cache_corrupted,
	.istream_opened = index_mail_opened,
};
