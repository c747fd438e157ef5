/* The shared_dict driver: Dovecot's struct dict_vfuncs over the Rust engine
   (include/shared_imapc.h). Results are copied into Dovecot's pools and
   data stack before the Rust strings are freed. */
#include "shim.h"
#include "dict-private.h"
#include "shared_imapc.h"

struct sic_dict_handle {
	struct dict dict;
	struct sic_dict *engine;
};

struct sic_dict_iterate_context {
	struct dict_iterate_context ctx;
	struct sic_dict_iter *iter;
	char *error;
	const char *values[2];
};

struct sic_dict_transaction_context {
	struct dict_transaction_context ctx;
	struct sic_dict_txn *txn;
};

/* Returns a Rust string as a data-stack copy, freeing the original. */
static const char *sic_t_take(char *str)
{
	const char *copy = t_strdup(str);

	sic_string_free(str);
	return copy;
}

static void sic_dict_log_warnings(struct sic_dict_handle *d)
{
	char *warning;

	while ((warning = sic_dict_take_warning(d->engine)) != NULL)
		e_warning(d->dict.event, "%s", sic_t_take(warning));
}

static int
sic_dict_init(struct dict *driver, const char *uri,
	      const struct dict_settings *set ATTR_UNUSED,
	      struct dict **dict_r, const char **error_r)
{
	struct sic_dict_handle *d;
	struct sic_dict *engine;
	char *error = NULL;

	engine = sic_dict_open(uri, &error);
	if (engine == NULL) {
		*error_r = sic_t_take(error);
		return -1;
	}
	d = i_new(struct sic_dict_handle, 1);
	d->dict = *driver;
	d->engine = engine;
	*dict_r = &d->dict;
	return 0;
}

static void sic_dict_deinit(struct dict *dict)
{
	struct sic_dict_handle *d = (struct sic_dict_handle *)dict;

	sic_dict_free(d->engine);
	i_free(d);
}

static int
sic_dict_lookup_sync(struct dict *dict, const struct dict_op_settings *set,
		     pool_t pool, const char *key, const char **value_r,
		     const char **error_r)
{
	struct sic_dict_handle *d = (struct sic_dict_handle *)dict;
	char *value = NULL, *error = NULL;
	int ret;

	ret = sic_dict_lookup(d->engine, set->username, key, &value, &error);
	sic_dict_log_warnings(d);
	if (ret > 0) {
		*value_r = p_strdup(pool, value);
		sic_string_free(value);
	} else if (ret < 0) {
		*error_r = sic_t_take(error);
	}
	return ret;
}

static struct dict_iterate_context *
sic_dict_iterate_init(struct dict *dict, const struct dict_op_settings *set,
		      const char *path, enum dict_iterate_flags flags)
{
	struct sic_dict_handle *d = (struct sic_dict_handle *)dict;
	struct sic_dict_iterate_context *ctx;
	char *error = NULL;

	ctx = i_new(struct sic_dict_iterate_context, 1);
	ctx->ctx.dict = dict;
	ctx->iter = sic_dict_iterate(d->engine, set->username, path, flags,
				     &error);
	sic_dict_log_warnings(d);
	if (ctx->iter == NULL) {
		ctx->error = i_strdup(error != NULL ? error : "iteration failed");
		sic_string_free(error);
	}
	return &ctx->ctx;
}

static bool
sic_dict_iterate_next(struct dict_iterate_context *_ctx,
		      const char **key_r, const char *const **values_r)
{
	struct sic_dict_iterate_context *ctx =
		(struct sic_dict_iterate_context *)_ctx;
	const char *key, *value;

	if (ctx->iter == NULL || sic_dict_iter_next(ctx->iter, &key, &value) == 0)
		return FALSE;
	/* valid until the next call, as Dovecot requires */
	*key_r = key;
	ctx->values[0] = value;
	*values_r = ctx->values;
	return TRUE;
}

static int
sic_dict_iterate_deinit(struct dict_iterate_context *_ctx,
			const char **error_r)
{
	struct sic_dict_iterate_context *ctx =
		(struct sic_dict_iterate_context *)_ctx;
	int ret = ctx->error != NULL ? -1 : 0;

	*error_r = t_strdup(ctx->error);
	sic_dict_iter_free(ctx->iter);
	i_free(ctx->error);
	i_free(ctx);
	return ret;
}

static struct dict_transaction_context *
sic_dict_transaction_init(struct dict *dict)
{
	struct sic_dict_transaction_context *ctx;

	ctx = i_new(struct sic_dict_transaction_context, 1);
	ctx->ctx.dict = dict;
	ctx->txn = sic_dict_txn_new();
	return &ctx->ctx;
}

static void
sic_dict_transaction_commit(struct dict_transaction_context *_ctx,
			    bool async ATTR_UNUSED,
			    dict_transaction_commit_callback_t *callback,
			    void *context)
{
	struct sic_dict_transaction_context *ctx =
		(struct sic_dict_transaction_context *)_ctx;
	struct sic_dict_handle *d = (struct sic_dict_handle *)_ctx->dict;
	struct dict_commit_result result;
	char *error = NULL;
	int ret;

	i_zero(&result);
	/* Committed and synced before the callback, async or not. */
	ret = sic_dict_txn_commit(d->engine, ctx->txn, _ctx->set.username,
				  &error);
	sic_dict_log_warnings(d);
	if (ret > 0)
		result.ret = DICT_COMMIT_RET_OK;
	else if (ret == 0)
		result.ret = DICT_COMMIT_RET_NOTFOUND;
	else {
		result.ret = DICT_COMMIT_RET_FAILED;
		result.error = sic_t_take(error);
	}
	i_free(ctx);
	callback(&result, context);
}

static void sic_dict_transaction_rollback(struct dict_transaction_context *_ctx)
{
	struct sic_dict_transaction_context *ctx =
		(struct sic_dict_transaction_context *)_ctx;

	sic_dict_txn_free(ctx->txn);
	i_free(ctx);
}

static void sic_dict_set(struct dict_transaction_context *_ctx,
			 const char *key, const char *value)
{
	struct sic_dict_transaction_context *ctx =
		(struct sic_dict_transaction_context *)_ctx;

	sic_dict_txn_set(ctx->txn, key, value);
	_ctx->changed = TRUE;
}

static void sic_dict_unset(struct dict_transaction_context *_ctx,
			   const char *key)
{
	struct sic_dict_transaction_context *ctx =
		(struct sic_dict_transaction_context *)_ctx;

	sic_dict_txn_unset(ctx->txn, key);
	_ctx->changed = TRUE;
}

static void sic_dict_atomic_inc(struct dict_transaction_context *_ctx,
				const char *key, long long diff)
{
	struct sic_dict_transaction_context *ctx =
		(struct sic_dict_transaction_context *)_ctx;

	sic_dict_txn_inc(ctx->txn, key, diff);
	_ctx->changed = TRUE;
}

static struct dict sic_dict_driver = {
	.name = "shared_dict",
	{
		.init = sic_dict_init,
		.deinit = sic_dict_deinit,
		.lookup = sic_dict_lookup_sync,
		.iterate_init = sic_dict_iterate_init,
		.iterate = sic_dict_iterate_next,
		.iterate_deinit = sic_dict_iterate_deinit,
		.transaction_init = sic_dict_transaction_init,
		.transaction_commit = sic_dict_transaction_commit,
		.transaction_rollback = sic_dict_transaction_rollback,
		.set = sic_dict_set,
		.unset = sic_dict_unset,
		.atomic_inc = sic_dict_atomic_inc,
	}
};

void sic_dict_driver_register(void)
{
	dict_driver_register(&sic_dict_driver);
}

void sic_dict_driver_unregister(void)
{
	dict_driver_unregister(&sic_dict_driver);
}
