/*
 * rewrite_internal.h — mod_rewrite's pieces shared by rewrite.c (the
 * directives and the two entry points: translate for server context,
 * fixups for directory context), rewrite_cond.c (test strings, variables,
 * conditions, substitution) and rewrite_map.c (RewriteMap).
 *
 * Apache 2.4's mod_rewrite is the specification: the reference, flags and
 * RewriteCond pages of its manual; docs/rewrite.md says where weft differs.
 */
#ifndef WEFT_MODULES_REWRITE_INTERNAL_H
#define WEFT_MODULES_REWRITE_INTERNAL_H

#include "../core/common.h"
#include "../core/config.h"
#include "../core/regex.h"
#include "../http/request.h"

/* What a CondPattern does with the expanded test string. */
typedef enum {
    COND_REGEX,
    COND_STRING_LT, COND_STRING_LE, COND_STRING_EQ, COND_STRING_GT, COND_STRING_GE,
    COND_INT_EQ, COND_INT_NE, COND_INT_LT, COND_INT_LE, COND_INT_GT, COND_INT_GE,
    COND_IS_FILE,       /* -f */
    COND_IS_DIRECTORY,  /* -d */
    COND_IS_SYMLINK,    /* -l, -L, -h */
    COND_HAS_SIZE,      /* -s */
    COND_IS_EXECUTABLE, /* -x */
    COND_FILE_LOOKUP,   /* -F: an existing file, as a sub-request would find it */
    COND_URL_LOOKUP,    /* -U: an existing URL, as a sub-request would find it */
    COND_EXPR,          /* RewriteCond expr "...": Apache's expression language (core/expr.h) */
} rewrite_cond_kind;

typedef struct {
    const char *test;          /* TestString as written: %{VAR}, $N, %N, ${map:key} */
    const char *pattern;       /* CondPattern without its '!' */
    weft_regex *regex;         /* COND_REGEX */
    struct weft_expr *expr;    /* COND_EXPR */
    rewrite_cond_kind kind;
    bool negate;
    bool nocase;               /* [NC] */
    bool or_next;              /* [OR] */
    bool no_vary;              /* [NV] */
} rewrite_cond;

/* RewriteRule flags. */
enum {
    RULE_LAST = 1u << 0,          /* L */
    RULE_END = 1u << 1,           /* END */
    RULE_REDIRECT = 1u << 2,      /* R[=code] */
    RULE_QS_APPEND = 1u << 3,     /* QSA */
    RULE_QS_DISCARD = 1u << 4,    /* QSD */
    RULE_QS_LAST = 1u << 5,       /* QSL */
    RULE_NO_ESCAPE = 1u << 6,     /* NE */
    RULE_PASS_THROUGH = 1u << 7,  /* PT */
    RULE_STATUS = 1u << 8,        /* F, G, R=non-3xx: answer with `status` */
    RULE_NO_SUBSTITUTION = 1u << 9, /* "-" as Substitution, or F/G */
    RULE_NOCASE = 1u << 10,       /* NC */
    RULE_CHAIN = 1u << 11,        /* C */
    RULE_NEXT_ROUND = 1u << 12,   /* N */
    RULE_ESCAPE_BACKREFS = 1u << 13, /* B */
    RULE_NO_PLUS = 1u << 14,      /* BNP: B escapes a space as %20, not + */
    RULE_DISCARD_PATH_INFO = 1u << 15, /* DPI */
    RULE_NO_SUBREQUEST = 1u << 16, /* NS */
    RULE_NEGATE = 1u << 17,       /* "!pattern" */
    RULE_BCTLS = 1u << 18,        /* BCTLS: B escapes controls and space only */
};

typedef struct {
    const char *name;     /* "!name" unsets */
    const char *value;    /* expanded per request; NULL with "!name" */
} rewrite_env;

typedef struct {
    rewrite_cond *conds;
    int cond_count;
    const char *pattern;
    weft_regex *regex;
    const char *output;         /* NULL for "-" */
    unsigned flags;
    int status;                 /* R=, F (403), G (410) */
    int skip;                   /* S=n */
    int max_rounds;             /* N=n, 32000 by default as in Apache */
    const char *type;           /* T= */
    const char *handler;        /* H= */
    rewrite_env *env;           /* E= */
    int env_count;
    const char **cookies;       /* CO=, expanded per request */
    int cookie_count;
    const char *escape_only;    /* B=chars: only these; NULL = every non-alphanumeric */
    const char *file;
    int line;
} rewrite_rule;

/* RewriteOptions */
enum {
    REWRITE_INHERIT = 1u << 0,
    REWRITE_INHERIT_BEFORE = 1u << 1,
    REWRITE_INHERIT_DOWN = 1u << 2,
    REWRITE_INHERIT_DOWN_BEFORE = 1u << 3,
    REWRITE_IGNORE_INHERIT = 1u << 4,
    REWRITE_ALLOW_NO_SLASH = 1u << 5,
    REWRITE_ALLOW_ANY_URI = 1u << 6,
    REWRITE_MERGE_BASE = 1u << 7,
    REWRITE_IGNORE_CONTEXT_INFO = 1u << 8,
    REWRITE_LEGACY_PREFIX_DOCROOT = 1u << 9,
    REWRITE_LONGURL_OPTIMIZATION = 1u << 10,
};

struct rewrite_map;

/* One context's mod_rewrite configuration (Apache's rewrite_server_conf and
 * rewrite_perdir_conf in one): all of a section's (or server's) Rewrite*
 * directives write into the same one, which then merges as a whole. */
typedef struct rewrite_conf {
    bool engine;
    bool engine_set;
    unsigned options;
    bool options_set;
    const char *base;           /* RewriteBase */
    bool base_set;
    const char *directory;      /* per-directory: the section's path with a trailing '/'; NULL at
                                 * server level */
    rewrite_rule *rules;
    int rule_count;
    rewrite_cond *pending;      /* RewriteConds waiting for their RewriteRule (configuration time) */
    int pending_count;
    struct rewrite_map *maps;   /* server level */
    const char **lines;         /* the context's Rewrite* lines as written, for DUMP_CONFIG */
    int line_count;
} rewrite_conf;

/* The module's slot in a server_config or dir_config: one pointer, NULL when
 * the context has no Rewrite* directive. */
typedef struct {
    rewrite_conf *conf;
} rewrite_slot;

/* One run of a rule list over a request. */
typedef struct {
    request *r;
    const rewrite_conf *server;   /* for RewriteMap */
    const char *perdir;           /* directory prefix, NULL at server level */
    char *filename;               /* Apache's r->filename while rewriting */
    const char *path_info;        /* directory context: what follows an existing file (or the
                                   * first missing component) in the mapped path, NULL if none */
    char *query;                  /* r->args while rewriting */
    const char *rule_subject;     /* what the rule's pattern matched, for $N */
    regex_group rule_groups[REGEX_MAX_GROUPS];
    const char *cond_subject;     /* the last matched RewriteCond's test string, for %N */
    regex_group cond_groups[REGEX_MAX_GROUPS];
    char *vary;                   /* headers the conditions read (Vary) */
    char *vary_this;              /* those the condition being tested read */
    int trace_level;              /* LogLevel rewrite:traceN, or the main level */
    bool end;                     /* [END] was applied */
    const char *type;             /* T= */
    const char *handler;          /* H= */
    int status;                   /* Apache's r->status while rewriting: R=code, F, G */
    int rounds;                   /* [N] rounds so far */
} rewrite_run;

/* What a request keeps across internal redirects (request.h rewrite_state). */
typedef struct {
    bool end;                     /* [END]: no more rewriting for this request */
    const char *type;             /* [T=]: the response's Content-Type */
    const char **cookies;         /* [CO=]: Set-Cookie fields, whatever the response */
    int cookie_count;
} rewrite_note;

rewrite_note *rewrite_request_note(request *r);

/* rewrite_apply.c: what a rule list did. */
enum {
    REWRITE_UNCHANGED = 0,
    REWRITE_CHANGED,            /* run->filename (and query) are the new target */
    REWRITE_CHANGED_NO_ESCAPE,  /* the same, from a rule with [NE] */
    REWRITE_STATUS,             /* answer with run->status (F, G, R=4xx, [N] looping) */
};
int rewrite_apply_list(rewrite_run *run, const rewrite_rule *rules, int count);
/* The length of "scheme://" (or "mailto:") when uri is absolute, else 0;
 * *has_query: whether a query belongs to that scheme's URLs. */
size_t rewrite_absolute_uri(const char *uri, bool *has_query);

/* rewrite_cond.c */
/* Expands a Substitution or TestString (escaping $N with the rule's [B]
 * when rule is not NULL). */
char *rewrite_expand(rewrite_run *run, const char *text, const rewrite_rule *rule);
/* Does the condition hold (and, for a matching regex, keep its groups)? */
bool rewrite_cond_holds(rewrite_run *run, const rewrite_cond *cond);
/* A variable as %{NAME} reads it ("" when unset, as Apache). */
const char *rewrite_variable(rewrite_run *run, const char *name);
/* Parses a CondPattern ("!-f", ">=abc", "^www\."); WEFT_ERROR after config_error. */
int rewrite_parse_cond_pattern(config_parse *parse, rewrite_cond *cond, const char *pattern);
/* [B]'s escaping of a back-reference. */
char *rewrite_escape_backref(pool *p, const char *text, size_t length, const char *only, bool no_plus, bool controls);
/* Apache's ap_escape_uri: what a redirect's URL-path becomes. */
char *rewrite_escape_uri(pool *p, const char *text);

/* rewrite_map.c */
typedef enum { MAP_TXT, MAP_RND, MAP_INT, MAP_PRG } rewrite_map_kind;

typedef struct rewrite_map {
    struct rewrite_map *next;
    const char *name;
    rewrite_map_kind kind;
    const char *path;           /* txt:, rnd:, prg: the file or the command line */
    const char *user;           /* prg: its optional user (Apache's third argument) */
    int function;               /* int: which */
    struct rewrite_map_state *state;  /* txt/rnd cache, prg process; shared, with a lock */
} rewrite_map;

int rewrite_map_define(config_parse *parse, rewrite_conf *conf, int argc, char **argv);
/* The value of key in map `name`, NULL when the key (or the map) is unknown. */
const char *rewrite_map_lookup(rewrite_run *run, const char *name, const char *key);
/* child_init: starts the prg: programs of every server. */
void rewrite_map_start_programs(const rewrite_conf *conf);

/* rewrite_config.c */
extern const config_directive rewrite_directives[];

/* rewrite.c: a trace line (LogLevel rewrite:traceN) */
void rewrite_log(const rewrite_run *run, int level, const char *format, ...) PRINTF_LIKE(3, 4);

#endif
