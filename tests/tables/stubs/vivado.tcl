# Stand-ins for the Vivado commands a generated build_bitfile.tcl calls, for tclsh: each records what it was asked
# (one tab-separated line in $env(STUB_RECORD)) and returns what the script reads next, so that the script runs
# from its first line to its last as it would in Vivado. Block-design cells must exist before their pins are used.
#   tclsh vivado.tcl SCRIPT PROJECT_DIR
set record [open $env(STUB_RECORD) w]
set cells [dict create]
set script [file normalize [lindex $argv 0]]
set stub_dir [file normalize [lindex $argv 1]]

proc note {args} { global record; puts $record [join $args "\t"]; flush $record }
proc need_cell {path} {
    global cells
    set cell [lindex [split $path /] 0]
    if {![dict exists $cells $cell]} { error "no block-design cell '$cell' (for '$path')" }
    return $path
}

proc create_project {name dir args} { note project $name $dir [lindex $args [expr {[lsearch $args -part] + 1}]] }
proc current_project {} { return tn_shell }
proc current_fileset {} { return sources_1 }
proc update_compile_order {args} {}
proc set_property {args} {
    if {[lindex $args 0] eq "-dict"} {
        foreach {key value} [lindex $args 1] { note property [lindex $args 2] $key $value }
    } else {
        note property [lindex $args 2] [lindex $args 0] [lindex $args 1]
    }
}
proc add_files {args} {
    foreach path [lindex $args end] {
        if {![file exists $path]} { error "add_files: no file $path" }
        note file $path
    }
}
proc create_bd_design {name} { note design $name }
proc create_bd_cell {args} {
    global cells
    set name [lindex $args end]
    set kind [lindex $args [expr {[lsearch $args -type] + 1}]]
    set what [lindex $args [expr {[lsearch -regexp $args {^-(vlnv|reference)$}] + 1}]]
    dict set cells $name $what
    note cell $name $kind $what
}
proc get_bd_cells {name} { need_cell $name }
proc get_bd_pins {path} { need_cell $path }
proc get_bd_intf_pins {path} { need_cell $path }
proc apply_bd_automation {args} { note automation [lindex $args end] [lindex $args [expr {[lsearch $args -config] + 1}]] }
proc connect_bd_intf_net {a b} { note interface $a $b }
proc connect_bd_net {a b} { note net $a $b }
proc assign_bd_address {args} { note assign_bd_address }
proc validate_bd_design {args} { note validate_bd_design }
proc save_bd_design {args} { note save_bd_design }
proc get_files {args} {
    global stub_dir
    if {[lsearch $args -of_objects] >= 0} {
        set hwh [file join $stub_dir gen tn_shell.hwh]
        file mkdir [file dirname $hwh]
        set f [open $hwh w]; puts $f "<stub hwh/>"; close $f
        return [list $hwh]
    }
    return [lindex $args end]
}
proc make_wrapper {args} {
    global stub_dir
    set wrapper [file join $stub_dir gen tn_shell_wrapper.v]
    file mkdir [file dirname $wrapper]
    set f [open $wrapper w]; puts $f "// stub wrapper"; close $f
    note wrapper [lindex $args [expr {[lsearch $args -files] + 1}]]
    return $wrapper
}
proc launch_runs {run args} {
    global stub_dir
    file mkdir [file join $stub_dir $run]
    set f [open [file join $stub_dir $run tn_shell_wrapper.bit] w]; puts $f "stub bitstream"; close $f
    note run $run $args
}
proc wait_on_run {run} {}
proc get_runs {run} { return $run }
proc get_property {name object} {
    global stub_dir
    switch -- $name {
        PROGRESS { return "100%" }
        STATUS { return "write_bitstream Complete!" }
        DIRECTORY { return [file join $stub_dir $object] }
    }
    error "get_property: the stub knows no $name"
}

set argv [list $stub_dir]
set argc 1
source $script
close $record
