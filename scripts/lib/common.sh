# Sourced by the scripts: finds a JDK 25+, sets JAVA_HOME, and defines the Maven command line.
# shellcheck shell=bash

ONEDNN4J_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
REQUIRED_JAVA=25

# Feature version of a JDK home ("25"), or nothing if it is not one.
jdk_version() {
  local home=$1
  [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || return 1
  local v
  v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release" 2>/dev/null)
  [ -n "$v" ] || v=$("$home/bin/java" -XshowSettings:properties -version 2>&1 \
    | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
  [ -n "$v" ] && echo "$v"
}

# JAVA_HOME when it is 25+, else the newest JDK 25+ under /usr/lib/jvm.
find_jdk() {
  if [ -n "${JAVA_HOME:-}" ]; then
    local v
    v=$(jdk_version "$JAVA_HOME") || v=""
    if [ -n "$v" ] && [ "$v" -ge "$REQUIRED_JAVA" ]; then
      echo "$JAVA_HOME"
      return 0
    fi
    echo "note: JAVA_HOME=$JAVA_HOME is JDK ${v:-unknown}, not $REQUIRED_JAVA+; looking under /usr/lib/jvm" >&2
  fi
  local best="" best_v=0 home v
  for home in /usr/lib/jvm/*; do
    [ -d "$home" ] && [ ! -L "$home" ] || continue
    v=$(jdk_version "$home") || continue
    if [ "$v" -ge "$REQUIRED_JAVA" ] && [ "$v" -gt "$best_v" ]; then
      best=$home best_v=$v
    fi
  done
  if [ -z "$best" ]; then
    cat >&2 <<MSG
error: onednn4j needs JDK $REQUIRED_JAVA or newer (the final java.lang.foreign API), and none was found:
  JAVA_HOME is ${JAVA_HOME:-unset}, and /usr/lib/jvm holds no JDK $REQUIRED_JAVA+.
Install one (e.g. Temurin 25 from https://adoptium.net, or Debian/Ubuntu's openjdk-25-jdk where offered)
and either put it under /usr/lib/jvm or run: export JAVA_HOME=/path/to/jdk-25
MSG
    return 1
  fi
  echo "$best"
}

use_jdk() {
  JAVA_HOME=$(find_jdk) || exit 1
  export JAVA_HOME
  export PATH="$JAVA_HOME/bin:$PATH"
  echo "using JDK $(jdk_version "$JAVA_HOME") at $JAVA_HOME" >&2
  # The Maven wrapper: Maven 3.9.16, pinned (and its checksum) in .mvn/wrapper/maven-wrapper.properties,
  # downloaded from Maven Central on first use; it needs no sun.misc.Unsafe workaround on JDK 25.
  MVN=("$ONEDNN4J_ROOT/mvnw" -B -ntp -f "$ONEDNN4J_ROOT/pom.xml")
  if [ -n "${CI:-}" ] || [ ! -t 1 ]; then
    MVN+=(-Dstyle.color=never)
  fi
}
