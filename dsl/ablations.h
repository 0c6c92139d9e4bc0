/*
 * ablations.h - validation of the spec's declared ablations (ablations.c), for experiment_validate()
 * (validate.c): each names a dimension the grid varies, and a baseline the grid has.
 */
#ifndef DSL_ABLATIONS_H
#define DSL_ABLATIONS_H

#include "dsl/diag.h"
#include "dsl/experiment.h"

/*
 * The dimensions an ablation can be over, "method.NAME.PARAM" aside (exp_ablation's over): model,
 * layer, utility, target, precision.
 */
extern const char *const exp_ablation_dims[5];

/*
 * Check e's ablations after the grid's names are canonical (exp_check_names, exp_check_targets): an
 * unknown dimension, one the grid does not vary, a baseline that is not one of its values, and the same
 * ablation twice are errors at their positions, with the nearest name. A baseline is rewritten in the
 * canonical spelling of its value ("ReST" -> "rest", "pred" -> "predicted"). Over a method's parameter
 * (method.NAME.PARAM) the values are those NAME's entries of methods give it, and the ablation gets its
 * variants (exp_ablation); over precision, which one spec does not vary, an error says how to compare.
 */
void exp_check_ablations(struct experiment *e, struct diag *d);

#endif
