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

#endif
