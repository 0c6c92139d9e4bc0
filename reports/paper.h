/*
 * paper.h - the paper's published table values (paper_numbers.c), and the names by which an
 * experiment asks for them (its outputs' 'paper' key) to be set beside camlab's numbers.
 *
 * A paper table is one network at one of the paper's two target layers (settings):
 *
 *   [tableN/]NETWORK/WHERE
 *
 * NETWORK as paper_numbers.md names them: resnet18, resnet50, resnet101, resnet152, resnext50, vgg16,
 * efficientnetb0, mobilenetv2, swint_t, swint_s, swint_b, swint_l. WHERE is the setting: last-conv
 * (setting A: the last convolution, for Swin the first norm of the last block) or pre-pool (setting B:
 * the layer preceding global pooling), or that layer's module path for the network, e.g.
 * layer4.2.conv3 (A) or layer4.2 (B) for resnet50. A leading tableN/ (the paper's table number) is
 * allowed for the reader and not checked: "table1/resnet50/layer4.2.conv3" is resnet50 in setting A.
 */
#ifndef REPORTS_PAPER_H
#define REPORTS_PAPER_H

#include "lib/strbuf.h"
#include "reports/results.h"

/* TSV with a header line: setting network layer method ad coh com adcc ic add (values x100). */
extern const char paper_numbers_tsv[];

struct paper_table {
	int automatic;	   /* "auto": each methods table gets the paper table of its model and layer */
	char setting;	   /* 'A' or 'B' */
	char network[32];
	char layer[64];	   /* the module path of the setting's layer in this network */
};

/*
 * Parse key into t; 0, or -1 with the reason (and nearest names) appended to why. "auto" sets
 * t->automatic: every methods table whose model is named like a paper network, at one of its two
 * layers, gets that paper table (paper_for).
 */
int paper_resolve(const char *key, struct paper_table *t, struct strbuf *why);

/*
 * The paper table of a model (named like the paper's network, case and -_. ignored) at a layer: its
 * module path, or the layer's name if it is a setting's (pre_gap/pre-pool, last_conv/last-conv). 1 with
 * t filled, or 0.
 */
int paper_for(const char *model, const char *layer, const char *layer_path, struct paper_table *t);

/* The paper's six values (x100) of method (camlab's spelling) in t: 1, or 0 if it has none. */
int paper_lookup(const struct paper_table *t, const char *method, double v[METRIC_NR]);

/* "last conv." or "pre-pool", for captions. */
const char *paper_setting_name(char setting);

/*
 * Whether a camlab model name is t's network, ignoring case and the characters "-_." (so "ResNet-50"
 * and "resnet50" match).
 */
int paper_matches_model(const struct paper_table *t, const char *model);

#endif
