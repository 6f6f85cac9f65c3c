// A small multiply-accumulate with a block RAM: the design whose Yosys and
// nextpnr-ice40 outputs the fpga package's parsers are tested on
// (go test ./fpga -update captures them again).
`default_nettype none
module mac (
    input  wire        clk,
    input  wire        rst,
    input  wire [7:0]  a,
    input  wire [7:0]  b,
    input  wire [7:0]  addr,
    input  wire        we,
    output reg  [23:0] acc,
    output reg  [15:0] rd
);
    reg [15:0] mem [0:255];
    reg [15:0] prod;
    always @(posedge clk) begin
        prod <= $signed(a) * $signed(b);
        if (rst)
            acc <= 24'd0;
        else
            acc <= acc + {{8{prod[15]}}, prod};
        if (we)
            mem[addr] <= prod;
        rd <= mem[addr];
    end
endmodule
`default_nettype wire
