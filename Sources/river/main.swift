import ArgumentParser
import CHostCPU

rv_require_build_target()  // before any kernel compiled for the build's target CPU runs
River.runMain()
