/*
 * preflight.h - what only the models can tell about a spec, found in seconds before a long run or a
 * Slurm job rather than hours into it (`camlab check --models`, `camlab submit`).
 */
#ifndef INTERP_PREFLIGHT_H
#define INTERP_PREFLIGHT_H

#include <stdio.h>

#include "dsl/diag.h"
#include "dsl/experiment.h"

/*
 * Load each model that e's grid runs on the CPU and put the first readable image of e's data through it
 * at each layer the grid cuts it at, as a run would: the model loads, the layer exists, cuts and gives A
 * in the layout asked for, the logits number as many as the model's class names, every target the grid
 * pairs with the model fits its classes, and method 'cam' finds its pooling + linear head where the
 * grid asks for it. Each problem is an error in d at the position of what the spec wrote (the model's
 * file, the layer, the target or the method); warnings the model or the data raise are printed as they
 * come. Prints a line per model and layer on fp (A's shape, the number of classes) unless fp is NULL.
 * Returns 0, or -1 when d got an error (a grid that does not expand included).
 */
int preflight_models(const struct experiment *e, struct diag *d, FILE *fp);

/*
 * A spec whose methods named "all" leaves cam out, as explain's --method all does, at each layer of
 * the grid where it is undefined: more than pooling and a linear map follows the layer (a ViT block,
 * a CNN's inner layer; at a fused layer, any of its layers), which each model's cut graph tells on the
 * CPU without a forward. Each such pair becomes an exclude (dsl/names.h's exp_leave_out) with a warning
 * in d at the "all". What cannot be loaded or cut is left to the run to report. Returns 0.
 */
int preflight_all_cam(struct experiment *e, struct diag *d);

#endif
