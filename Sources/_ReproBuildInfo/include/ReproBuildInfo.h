// The source commit this binary was built from, fixed at build time.
// Package.swift reads it from git (`Context.gitInformation`) when the manifest
// is evaluated and passes it to build_info.c as preprocessor definitions; a build
// outside a git checkout (a source archive) reports "unknown".
#ifndef REPRO_BUILD_INFO_H
#define REPRO_BUILD_INFO_H

/// The full commit hash (40 hex digits), or "unknown".
const char *repro_build_commit(void);

/// 1 when the checkout had uncommitted changes at build time, 0 when clean, -1 when unknown.
int repro_build_tree_state(void);

#endif
