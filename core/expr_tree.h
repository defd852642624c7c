/*
 * The parsed form of an expression, shared by the parser (expr.c) and the evaluator
 * (expr_eval.c) and by no one else: tokens, the node tree held in one array, the functions.
 */
#ifndef CF_EXPR_TREE_H
#define CF_EXPR_TREE_H

#include <stddef.h>

#include "core/expr.h"

enum tok {
    T_EOF,
    T_NUM,
    T_STR,
    T_NAME,
    T_LPAREN,
    T_RPAREN,
    T_LBRACK,
    T_RBRACK,
    T_COMMA,
    T_PLUS,
    T_MINUS,
    T_STAR,
    T_SLASH,
    T_EQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_IN,
    T_NOTIN,
    T_AND,
    T_OR,
    T_NOT,
    T_TRUE,
    T_FALSE,
    T_NULL
};

enum kind {
    N_LIT,  /* a constant: lit */
    N_PATH, /* a read of root: paths.v[idx] */
    N_ACT,  /* an activity name given to done() and friends: acts.v[idx] */
    N_LIST, /* [kids...] */
    N_NEG,  /* -kid */
    N_NOT,  /* not kid */
    N_AND,  /* kid and kid and ... (chains are one node, so they do not deepen the tree) */
    N_OR,   /* kid or kid or ... */
    N_BIN,  /* kid op kid, op a comparison or arithmetic token */
    N_CALL, /* fn(kids...) */
};

enum fn {
    F_DONE,
    F_FAILED,
    F_OPEN,
    F_ALL_DONE,
    F_ANY_DONE,
    F_EXISTS,
    F_LEN,
    F_LOWER,
    F_STARTS,
    F_COALESCE,
    F_CHOOSE
};

/* A function of the language: its name and how it takes arguments (expr_funcs). */
struct func {
    const char *name;
    int min, max;   /* argument counts; max -1 is unbounded */
    int activities; /* the arguments are activity names, not expressions */
};

/* What each token is called in messages, and each function by its enum fn (expr.c). */
extern const char *const expr_tok_text[];
extern const struct func expr_funcs[];

/* Children are a linked list through the node array: kid is the first, last the last (so that
 * appending to an and/or chain is constant time), next the following sibling; -1 is none. */
struct node {
    unsigned char kind;
    unsigned char op; /* N_BIN: enum tok; N_CALL: enum fn */
    int col;          /* where it was written, for runtime messages */
    int kid, last, next;
    int height; /* 1 for a leaf; bounded by CF_EXPR_MAX_DEPTH, which bounds evaluation */
    json_t *lit;
    size_t idx;
};

/* A set of strings in order of first appearance. */
struct strs {
    char **v;
    size_t n, cap;
};

struct call {
    const char *name; /* static, from funcs */
    char *arg;        /* first argument's text, or NULL */
};

struct cf_expr {
    struct node *nodes;
    size_t nnodes, capnodes;
    int root;
    struct strs paths, acts;
    struct call *calls;
    size_t ncalls, capcalls;
};

#endif
