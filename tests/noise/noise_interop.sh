#!/usr/bin/env bash
# noise_interop.sh NOISE_PEER SCRIPT_DIR: farcall's Noise core against
# dissononce (python3-dissononce, an independent implementation), each side
# as initiator and as responder, for the protocols farcall's security levels
# use; then a wrong PSK on the dissononce side, which must make the reader of
# the first PSK-keyed message fail (FAR_EAUTH in farcall, DecryptFailedException
# in dissononce).  Each run talks over pipes to a child process, bounded in
# time (noise_peer's own deadline, and timeout(1) around it).  Not skipped
# when dissononce is missing: that is a failure.
set -u
peer=$1
dir=$2
# Debian's interpreter: the python3 on PATH may be another (pyenv) one
# without Debian's modules.
python=/usr/bin/python3
if ! "$python" -c 'import dissononce' 2>/dev/null; then
    echo "FAIL: $python cannot import dissononce: install python3-dissononce (scripts/deps.sh)"
    exit 1
fi
protocols="Noise_NNpsk0_25519_ChaChaPoly_SHA256 Noise_NNpsk0_25519_AESGCM_SHA256
           Noise_KKpsk0_25519_ChaChaPoly_SHA256 Noise_XXpsk3_25519_ChaChaPoly_SHA256"
fail=0
runs=0
for p in $protocols; do
    for role in init resp; do
        for mode in ok wrongpsk; do
            runs=$((runs + 1))
            if ! timeout -k 5 90 "$peer" "$python" "$dir/dissononce_peer.py" "$p" "$role" "$mode"; then
                echo "FAIL: $p, farcall $role, $mode"
                fail=1
            fi
        done
    done
done
if [ $fail = 0 ]; then
    echo "ok: $runs runs against dissononce"
fi
exit $fail
