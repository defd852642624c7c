/* `caseflow graph FILE`: the workflow's state machine as Graphviz DOT on stdout. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "core/workflow.h"

/* Writes `s` as the inside of a DOT double-quoted string. */
static void dot_text(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        if (*s == '\n')
            fputs("\\n", out);
        else
            fputc(*s, out);
    }
}

/* Writes `s` like dot_text, starting a new line at the first space after `width` characters
 * (UTF-8 characters, not bytes) so that long conditions do not stretch the picture. */
static void dot_wrapped(FILE *out, const char *s, int width)
{
    int col = 0;
    for (; s && *s; s++) {
        if ((*s == ' ' && col >= width) || *s == '\n') {
            fputs("\\n", out);
            col = 0;
            continue;
        }
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
        if (((unsigned char)*s & 0xC0) != 0x80)
            col++;
    }
}

static void edge_label(FILE *out, const cf_transition *t)
{
    if (t->on) {
        dot_text(out, t->on);
        if (t->task) {
            fputs(" [", out);
            dot_text(out, t->task);
            fputs("]", out);
        }
        if (t->timer) {
            fputs(" [", out);
            dot_text(out, t->timer);
            fputs("]", out);
        }
    } else {
        fputs("(automatic)", out);
    }
    /* An automatic transition that always holds needs no condition in the picture. */
    if (t->guard_text && strcmp(t->guard_text, "true") != 0) {
        fputs(t->on ? "\\nif " : "\\nwhen ", out);
        dot_wrapped(out, t->guard_text, 40);
    }
}

static void print_graph(FILE *out, const cf_workflow *wf)
{
    fprintf(out, "digraph \"");
    dot_text(out, wf->name);
    fprintf(out, "\" {\n  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Noto Sans CJK "
                 "SC\"];\n  edge [fontname=\"Noto Sans CJK SC\", fontsize=10];\n");
    fprintf(out, "  label=\"");
    dot_text(out, wf->title ? wf->title : wf->name);
    fprintf(out, " (version %d)\";\n  labelloc=t;\n", wf->version);
    fprintf(out, "  __start [shape=point];\n  __start -> \"%s\";\n", wf->states[wf->initial].name);
    for (size_t i = 0; i < wf->nstates; i++) {
        const cf_state *s = &wf->states[i];
        fprintf(out, "  \"");
        dot_text(out, s->name);
        fprintf(out, "\" [label=\"");
        dot_text(out, s->name);
        if (s->title) {
            fputs("\\n", out);
            dot_text(out, s->title);
        }
        fprintf(out, "\"%s];\n", s->final ? ", peripheries=2" : "");
    }
    for (size_t i = 0; i < wf->nstates; i++) {
        const cf_state *s = &wf->states[i];
        for (size_t k = 0; k < s->non; k++) {
            const cf_transition *t = &s->on[k];
            if (!t->to)
                continue;
            fprintf(out, "  \"");
            dot_text(out, s->name);
            fprintf(out, "\" -> \"");
            dot_text(out, t->to);
            fprintf(out, "\" [label=\"");
            edge_label(out, t);
            fprintf(out, "\"%s];\n", t->on ? "" : ", style=dashed");
        }
    }
    /* The states are drawn top to bottom in the order the file declares them (the spine of a
     * case's life), also where only an any-state transition links them. */
    for (size_t i = 0; i + 1 < wf->nstates; i++) {
        fprintf(out, "  \"");
        dot_text(out, wf->states[i].name);
        fprintf(out, "\" -> \"");
        dot_text(out, wf->states[i + 1].name);
        fprintf(out, "\" [style=invis, weight=0];\n");
    }
    if (wf->nany > 0)
        fprintf(out, "  __any [label=\"any state\", shape=plaintext];\n");
    for (size_t k = 0; k < wf->nany; k++) {
        const cf_transition *t = &wf->any[k];
        if (!t->to)
            continue;
        fprintf(out, "  __any -> \"");
        dot_text(out, t->to);
        fprintf(out, "\" [label=\"");
        edge_label(out, t);
        fprintf(out, "\", style=dotted];\n");
    }
    fprintf(out, "}\n");
}

int cf_cmd_graph(int argc, char **argv)
{
    cf_diags d;
    cf_workflow *wf;

    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: caseflow graph FILE\n\n"
               "Prints the workflow's state machine as Graphviz DOT. Draw it with:\n"
               "  caseflow graph workflows/enforcement_case.yaml | dot -Tsvg > case.svg\n");
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: caseflow graph FILE\n");
        return 2;
    }
    cf_diags_init(&d);
    wf = cf_workflow_load(argv[1], &d);
    for (size_t k = 0; k < d.count; k++)
        if (d.lines[k])
            fprintf(stderr, "%s\n", d.lines[k]);
    cf_diags_free(&d);
    if (!wf)
        return 1;
    print_graph(stdout, wf);
    cf_workflow_free(wf);
    return 0;
}
