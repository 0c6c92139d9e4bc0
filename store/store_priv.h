/*
 * store_priv.h - what the files of store/ share and nothing outside store/ includes: the struct behind
 * store.h's opaque handle and the error helper of its SQLite calls.
 */
#ifndef STORE_STORE_PRIV_H
#define STORE_STORE_PRIV_H

#include <sqlite3.h>

#include "store/store.h"

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *put_image;
};

/* Says "PATH: WHAT failed: SQLite's last message" as an error and returns -1. */
int sql_error(struct store *s, const char *what);

#endif
