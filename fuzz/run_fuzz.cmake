# Runs one libFuzzer harness for a bounded time on a fresh copy of its seed
# corpus; called by ctest (see CMakeLists.txt here) as
#   cmake -DHARNESS=... -DSEEDS=... -DWORK=... -DSECONDS=... -DMAX_LEN=... -P run_fuzz.cmake
# Fails (exit status != 0) when the harness reports anything.
foreach(v HARNESS SEEDS WORK SECONDS MAX_LEN)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_fuzz.cmake: -D${v}=... missing")
  endif()
endforeach()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus" "${WORK}/artifacts")
file(GLOB seeds "${SEEDS}/*")
if(NOT seeds)
  message(FATAL_ERROR "run_fuzz.cmake: no seeds in ${SEEDS}")
endif()
file(COPY ${seeds} DESTINATION "${WORK}/corpus")

# -timeout: one input may take at most 10 s; -rss_limit_mb: the whole process
# at most 2 GiB; -max_total_time: the run's length.  New inputs go to the copy.
execute_process(
  COMMAND "${HARNESS}" -max_total_time=${SECONDS} -max_len=${MAX_LEN} -timeout=10
          -rss_limit_mb=2048 -print_final_stats=1 "-artifact_prefix=${WORK}/artifacts/"
          "${WORK}/corpus"
  RESULT_VARIABLE rc)
file(GLOB artifacts "${WORK}/artifacts/*")
if(NOT rc EQUAL 0 OR artifacts)
  message(FATAL_ERROR "fuzzing failed (status ${rc}); reproducers: ${artifacts}\n"
                      "replay one with: ${HARNESS} FILE")
endif()
