/*
 * store.h - the results database of an experiment's output folder: the contract between running
 * (interp/) and reporting (reports/), which reads nothing else.
 *
 * One SQLite file, DIR/results.sqlite. Schema (version 1):
 *
 *   meta(key TEXT PRIMARY KEY, value TEXT)            schema_version, created_by (camlab version)
 *   specs(id INTEGER PRIMARY KEY, path TEXT, text TEXT, canonical TEXT, camlab_version TEXT,
 *         created TEXT)                               every spec version that ran here
 *   runs(key TEXT PRIMARY KEY,                        16 hex digits: hash of the run's canonical config
 *        spec_id INTEGER, model TEXT, layer TEXT, layer_path TEXT, method TEXT, utility TEXT,
 *        target TEXT, config TEXT,                    the canonical configuration that was hashed, a
 *                                                     "key=value" line each (reports read its
 *                                                     "precision=P" line, written when P is not fp32)
 *        nr_images INTEGER,                           images the run covers
 *        state TEXT,                                  pending | partial | done | failed
 *        error TEXT, created TEXT, finished TEXT)
 *   images(run_key TEXT, idx INTEGER,                 dataset index of the image
 *          path TEXT, label INTEGER, class INTEGER,   label -1 when unknown; class = explained target
 *          ad REAL, coh REAL, com REAL, ic REAL, add_ REAL, y REAL, o REAL, d REAL,   NULL: not computed
 *          PRIMARY KEY (run_key, idx))
 *   aggregates(run_key TEXT PRIMARY KEY, n INTEGER,
 *              ad REAL, coh REAL, com REAL, adcc REAL, ic REAL, add_ REAL)   averages; ADCC of averages
 *   heatmaps(run_key TEXT, idx INTEGER, h INTEGER, w INTEGER, data BLOB,    for the images a figure
 *            PRIMARY KEY (run_key, idx))                   shows: float32 little-endian, row-major
 *   inputs(model TEXT, idx INTEGER, path TEXT, h INTEGER, w INTEGER, rgb BLOB,   the prepared input
 *          PRIMARY KEY (model, idx))                      image (after resize and crop), 8-bit RGB
 *   classes(model TEXT, idx INTEGER, name TEXT,          class names of the models that have them,
 *           PRIMARY KEY (model, idx))                    for figure titles
 *   spec_runs(spec_id INTEGER, run_key TEXT, pos INTEGER,  the runs of each spec, in grid order;
 *             PRIMARY KEY (spec_id, run_key))              outputs' spec_id names the latest spec run
 *   user_metrics(run_key TEXT, idx INTEGER, name TEXT, value REAL,   metrics defined in the spec's Lua,
 *                PRIMARY KEY (run_key, idx, name))            one row per image and metric
 *   image_metrics(run_key TEXT, idx INTEGER, name TEXT, value REAL,  the metrics beyond the paper's six
 *                 PRIMARY KEY (run_key, idx, name))  (road, road_morf, road_lerf, arcc, insertion,
 *                                                    deletion, gain): one row per image and value computed;
 *                                                    added to schema 1 without a version change (a
 *                                                    database from before reads as having none of them)
 *   outputs(key TEXT PRIMARY KEY, value TEXT)             what the latest spec asks the report for:
 *          name, tables (0/1), plots (0/1), formats ("markdown,latex,csv"), paper ("table1/...")
 *   figures(idx INTEGER, by TEXT, PRIMARY KEY (idx, by))  figure requests: image index, what varies
 *   skipped(run_key TEXT, idx INTEGER, path TEXT,         images a run could not read (it has no result
 *           PRIMARY KEY (run_key, idx))                   for them; a run is done when each image is
 *                                                         stored or skipped)
 *
 * Batches are written in one transaction each (store_begin/store_commit), so an interrupted run keeps
 * every finished batch and resumes after it. A run's key changes whenever anything that affects its
 * numbers changes, so a changed spec makes new runs and never mixes results.
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

struct store_run {
	const char *key;
	const char *model, *layer, *layer_path, *method, *utility, *target;
	const char *config;
	long nr_images;
};

/* A value of a metric beyond the paper's six (the image_metrics table), by its column name. */
struct store_metric_value {
	char *name;
	double value; /* NAN: not computed */
};

struct store_image {
	long idx;
	const char *path;
	long label, cls;
	double ad, coh, com, ic, add, y, o, d; /* NAN: not computed (stored as NULL) */
	/* store_each_image: the image's other metrics, by name (borrowed); writers leave them empty */
	const struct store_metric_value *extra;
	size_t nr_extra;
};

/* Open (creating if needed) DIR/results.sqlite. Returns NULL after an error naming the file. */
struct store *store_open(const char *dir);
/*
 * Open an existing DIR/results.sqlite for reading only: for reports and status, which must work on an
 * archived, read-only database and on a shard's while its job writes it. Returns NULL quietly when there
 * is no such file (the caller says what that means), and after an error when it cannot be opened or is
 * not camlab's.
 */
struct store *store_open_readonly(const char *dir);
void store_close(struct store *s);
/* The database file of an output folder (caller frees). */
char *store_path(const char *dir);

/* Record a spec; returns its id (an existing id when the same text was recorded before), or -1. */
long store_add_spec(struct store *s, const char *path, const char *text, const char *canonical);

/*
 * Create the run if its key is new (state pending); an existing run is left as it is. Either way the
 * run is recorded as the pos-th run of spec spec_id. 0 or -1.
 */
int store_add_run(struct store *s, long spec_id, long pos, const struct store_run *r);
/* "pending", "partial", "done", "failed", or NULL for an unknown key (caller frees). */
char *store_run_state(struct store *s, const char *key, long *nr_done);
int store_set_state(struct store *s, const char *key, const char *state, const char *error);
/* A pending run that has stored results becomes partial (in the caller's transaction). 0 or -1. */
int store_run_started(struct store *s, const char *key);

/*
 * Mark done[i] = 1 for each image index i < n already stored or skipped for the run (done is zeroed
 * first). Returns the number found, or -1. With paths (the n images' paths now), a stored image whose path is
 * not paths[idx] (files added to or removed from the dataset since, which shifts the indices) is not
 * marked: *changed is then the first such index, else -1.
 */
long store_done_images(struct store *s, const char *key, unsigned char *done, size_t n, char *const *paths,
		       long *changed);

/*
 * Clear done[i] for each image i < n that figure[i] asks for and that has results for the run but no
 * heatmap: a figure added to an experiment after its images were computed (heatmaps are kept only for
 * the images figures show), so that they are computed again. Skipped images stay done. Returns how many
 * were cleared, or -1.
 */
long store_undo_figures(struct store *s, const char *key, const unsigned char *figure, unsigned char *done,
			size_t n);

int store_begin(struct store *s);
int store_commit(struct store *s);
/* Roll back the transaction in flight, if any: after a failed write, nothing of it is kept. */
int store_rollback(struct store *s);
int store_put_image(struct store *s, const char *key, const struct store_image *img);
/* Record that the run could not read image idx (an unreadable file), so that it is not tried again. */
int store_put_skipped(struct store *s, const char *key, long idx, const char *path);

/* Record a model's class names (n of them). */
int store_set_classes(struct store *s, const char *model, char *const *names, size_t n);

/* One image's value of a built-in metric beyond the paper's six (NAN: nothing is written). */
int store_put_metric(struct store *s, const char *key, long idx, const char *name, double value);

/* One image's value of a user-defined metric. */
int store_put_user_metric(struct store *s, const char *key, long idx, const char *name, double value);

/* Keep a heatmap (h x w floats) of one image for figures. */
int store_put_heatmap(struct store *s, const char *key, long idx, int h, int w, const float *data);
/* Keep the prepared input image of one image for figures. */
int store_put_input(struct store *s, const char *model, long idx, const char *path, int h, int w,
		    const unsigned char *rgb);
/* Replace the report settings and figure requests with the current spec's. */
int store_set_output(struct store *s, const char *key, const char *value);
int store_set_figures(struct store *s, const long *idx, const char *const *by, size_t n);

/* Recompute the run's aggregate row from its image rows. */
int store_aggregate(struct store *s, const char *key);

/*
 * Copy into s what the results database at path (a shard's) holds for the runs s knows: images,
 * heatmaps, user metrics (replacing rows of the same run and image), and inputs and class names (keeping
 * s's). Runs that failed there are reported as warnings; their images are copied too. Returns the image
 * rows copied, or -1 (nothing is copied).
 */
long store_merge(struct store *s, const char *path);

/*
 * What a results database holds, for `camlab status` and the report's opening lines. Every string is
 * owned by the summary and freed by store_summary_release.
 */
struct store_state_count {
	char *state;	/* pending | partial | done | failed */
	long runs;	/* runs in that state */
	long nr_images; /* the images they cover */
	long nr_stored; /* the image results stored for them */
	long nr_skipped; /* the unreadable images they skipped */
};

struct store_failed_run {
	char *key, *model, *layer, *method, *utility, *target, *error;
};

struct store_spec_info {
	long id;
	char *path, *camlab_version, *created;
};

struct store_summary {
	struct store_state_count *states; /* ordered by state name */
	size_t nr_states;
	struct store_failed_run *failed; /* in the order the runs were created */
	size_t nr_failed;
	struct store_spec_info *specs; /* ordered by id */
	size_t nr_specs;
	long nr_stored; /* image results in all */
	long nr_nonfinite; /* of them, those whose class probability was NaN or infinite (stored NULL) */
};
#define STORE_SUMMARY_INIT                      \
	{                                       \
		NULL, 0, NULL, 0, NULL, 0, 0, 0 \
	}

/* Fill sum (which must be empty) from s. 0, or -1 after an error; sum is then left empty. */
int store_summary_load(struct store_summary *sum, struct store *s);
void store_summary_release(struct store_summary *sum);

/*
 * Queries of the report: everything reports/ reads from the database. Strings handed to a callback are
 * the store's, valid during the call only; a struct filled by a _load function owns what it points to
 * until its _release. Errors are reported with error() and the function returns -1.
 */

/* The outputs table's value for key, or NULL when it is missing or empty (caller frees). */
char *store_output_value(struct store *s, const char *key);

/* A run with aggregate results (n > 0). A NULL text column reads as "". */
struct store_result {
	const char *key, *model, *layer, *layer_path, *method, *utility, *target, *state;
	const char *config;		    /* the canonical configuration ("key=value" lines) */
	long nr_images, n;		    /* images the run covers; images averaged */
	double ad, coh, com, adcc, ic, add; /* averages; NAN: not computed */
};
typedef int (*store_result_fn)(const struct store_result *x, void *data);

/*
 * Call fn for each run with results: where the database records the latest spec's runs (outputs.spec_id
 * and spec_runs), those in the spec's grid order, and *nr_other is the number of other runs with
 * results; else every run in the order they were created (several runs of one model, layer, method,
 * utility and target may come: a later one is the newer) and *nr_other is 0. Returns 0, -1 after an
 * error, or the first nonzero value fn returns (which stops the walk).
 */
int store_each_result(struct store *s, store_result_fn fn, void *data, size_t *nr_other);

/* One image's results of a run. */
struct store_image_value {
	long idx;
	double ad, coh, com, ic, add; /* NAN: not computed */
};
/* A run's image results, ordered by image index; rows is owned by the struct. */
struct store_image_values {
	struct store_image_value *rows;
	size_t nr, alloc;
};
#define STORE_IMAGE_VALUES_INIT \
	{                       \
		NULL, 0, 0      \
	}
void store_image_values_init(struct store_image_values *v);
/* Replace v's rows with the image results of run key. 0 or -1 (v then holds no rows). */
int store_image_values_load(struct store_image_values *v, struct store *s, const char *key);
void store_image_values_release(struct store_image_values *v);

/*
 * Call fn for each figure request, ordered by image index and then by; by may be NULL. Returns 0, -1
 * after an error, or the first nonzero value fn returns.
 */
typedef int (*store_figure_fn)(long idx, const char *by, void *data);
int store_each_figure(struct store *s, store_figure_fn fn, void *data);

/* The prepared input image of one image of a model: h x w 8-bit RGB; path NULL when not recorded. */
struct store_input {
	int h, w;
	unsigned char *rgb;
	char *path;
};
void store_input_init(struct store_input *in);
/* Fill in (initialised, empty): 1 found, 0 none stored or its pixels unusable, -1 after an error. */
int store_input_load(struct store_input *in, struct store *s, const char *model, long idx);
void store_input_release(struct store_input *in);

/*
 * A run's heatmap of one image, as stored: h x w, and data (h x w floats, row-major) NULL when the
 * stored pixels do not match that size; cls the class the image's result explains, -1 if unknown.
 */
struct store_heatmap {
	int h, w;
	float *data;
	long cls;
};
void store_heatmap_init(struct store_heatmap *hm);
/* Fill hm (initialised, empty): 1 found, 0 none stored, -1 after an error. */
int store_heatmap_load(struct store_heatmap *hm, struct store *s, const char *key, long idx);
void store_heatmap_release(struct store_heatmap *hm);

/* The name of a model's class idx, or NULL when the database has none (caller frees). */
char *store_class_name(struct store *s, const char *model, long idx);

/*
 * The canonical text (dsl/experiment.h, experiment_canonical) of the spec that last ran here, for the
 * report settings that have no outputs row; NULL when there is none (caller frees).
 */
char *store_spec_canonical(struct store *s);

/*
 * For tests: let the database grow by at most pages pages from its size now, after which writes fail with
 * SQLITE_FULL as on a full disk (PRAGMA max_page_count).
 */
void store_limit_growth(struct store *s, long pages);

/*
 * Call fn with the mean of each metric of the image_metrics table (road, insertion, ...) per run, in no
 * particular order (key and name valid only during the call); a database from before the table has
 * none. fn returns 0 to go on; its other values stop the walk and are returned. Returns 0 or fn's value.
 */
int store_each_metric_mean(struct store *s, int (*fn)(const char *key, const char *name, double mean, void *ud),
			   void *ud);

/* The images of the selection the database's runs cover (the runs' largest nr_images), or -1. */
long store_selection_size(struct store *s);

/*
 * Write runs.csv, images.csv, aggregates.csv and user_metrics.csv into dir; images.csv and aggregates.csv
 * get a column for each name in image_metrics (its per-image value, its mean over the run's images).
 */
int store_export_csv(struct store *s, const char *dir);

/*
 * The runs of one spec version with their aggregates, for `camlab results` and `camlab compare`, which
 * read the database as data rather than as a report. Every string is owned by the list and freed by
 * store_results_release.
 */
struct store_run_result {
	char *key, *model, *layer, *method, *utility, *target, *state;
	long nr_images; /* images the run covers */
	long n;		/* images in its aggregate; 0 when it has none yet */
	double ad, coh, com, adcc, ic, add; /* the aggregate; NAN where there is none */
	struct store_metric_value *extra;   /* the means of its other metrics (road, ...), by name */
	size_t nr_extra;
};

struct store_results {
	long spec_id; /* the spec version listed */
	struct store_run_result *runs; /* in the spec's grid order */
	size_t nr, alloc;
};
#define STORE_RESULTS_INIT { 0, NULL, 0, 0 }

/*
 * The ids of the spec versions that have runs in s (a spec refused by its checks has none), ascending,
 * into *ids (caller frees; NULL when none), and *latest the one whose runs the report shows
 * (outputs.spec_id; else the largest id with runs; -1 if no spec has runs).
 * Returns how many ids, or -1 after an error.
 */
long store_spec_ids(struct store *s, long **ids, long *latest);

/*
 * Fill r (which must be empty) with the runs of spec spec_id in its grid order. A spec with no runs
 * leaves r empty. 0, or -1 after an error (r is then left empty).
 */
int store_results_load(struct store_results *r, struct store *s, long spec_id);
void store_results_release(struct store_results *r);

/*
 * Call fn on each image result of the run key in index order (img and its strings are valid only during
 * the call; NAN where a value is NULL). fn returns 0 to go on, else that value stops the walk and is
 * returned. Returns 0, fn's value, or -1 after a database error.
 */
int store_each_image(struct store *s, const char *key, int (*fn)(const struct store_image *img, void *ud),
		     void *ud);

/*
 * A note on run key that the report prints under its table, such as "hvp-zero" (the Hessian-vector
 * product vanished: ShapleyCAM equals GradCAM there, by theory). Replaces an earlier note; kept in the
 * outputs table. store_run_note returns it (caller frees) or NULL.
 */
int store_set_run_note(struct store *s, const char *key, const char *note);
char *store_run_note(struct store *s, const char *key);

#endif
