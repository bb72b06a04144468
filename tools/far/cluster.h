/* far info etcd:CLUSTER and far publish (cluster.c). */
#ifndef FAR_TOOL_CLUSTER_H
#define FAR_TOOL_CLUSTER_H

#include <stdbool.h>

int far__cmd_info_etcd(const char *cluster, bool hex);
int far__cmd_publish(int argc, char **argv);

#endif
