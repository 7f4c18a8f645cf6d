#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_commit_failure_sqlite.sh — test_commit_failure.sh with the SQLite
# engine: another process holds the database's write lock, so every
# commit fails (SQLITE_BUSY); each change answered 503 leaves nothing
# behind (issue 13, defect 12). See test_commit_failure.sh.
ENGINE=sqlite . "$(dirname "$0")/test_commit_failure.sh"
