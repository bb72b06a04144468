/* far describe and far call (dyn.c): the subcommands of far that call
 * through the dynamic-call API (farcall/dyn.h). */
#ifndef FAR_TOOL_DYN_H
#define FAR_TOOL_DYN_H

int far__cmd_describe(int argc, char **argv);
/* get.c: far get, far put */
int far__cmd_get(int argc, char **argv);
int far__cmd_put(int argc, char **argv);
int far__cmd_call(int argc, char **argv);

#endif
