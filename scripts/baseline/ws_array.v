// A minimal hand-written weight-stationary systolic array, the baseline that
// tpugen's generated matrix unit is measured against (scripts/bench.sh,
// scripts/synth.sh). int8 x int8 -> int32 partial sums in every PE, a
// single weight register per PE loaded by shifting down the columns, input
// skew and output deskew, no stalls, no accumulator memory.
`default_nettype none
module ws_array #(parameter N = 8) (
    input  wire             clk,
    input  wire             load,       // shift weights down one row
    input  wire [N*8-1:0]   w_in,       // one weight per column, enters row 0
    input  wire [N*8-1:0]   a_in,       // one activation per row
    output wire [N*32-1:0]  sum_out     // one partial sum per column, deskewed
);
    genvar i, j;
    // a[i][j]: activation entering PE (i, j); s[i][j]: sum entering PE (i, j)
    wire [7:0]  a  [0:N-1][0:N];
    wire [31:0] s  [0:N][0:N-1];
    wire [7:0]  wl [0:N][0:N-1];
    generate
        for (i = 0; i < N; i = i + 1) begin : skew
            reg [7:0] d [0:i];
            integer k;
            always @(posedge clk) begin
                d[0] <= a_in[i*8 +: 8];
                for (k = 1; k <= i; k = k + 1) d[k] <= d[k-1];
            end
            assign a[i][0] = d[i];
        end
        for (j = 0; j < N; j = j + 1) begin : top
            assign s[0][j] = 32'd0;
            assign wl[0][j] = w_in[j*8 +: 8];
        end
        for (i = 0; i < N; i = i + 1) begin : row
            for (j = 0; j < N; j = j + 1) begin : col
                reg [7:0]  w, act;
                reg [31:0] sum;
                wire [15:0] p = $signed(a[i][j]) * $signed(w);
                always @(posedge clk) begin
                    if (load) w <= wl[i][j];
                    act <= a[i][j];
                    sum <= s[i][j] + {{16{p[15]}}, p};
                end
                assign a[i][j+1] = act;
                assign s[i+1][j] = sum;
                assign wl[i+1][j] = w;
            end
        end
        for (j = 0; j < N; j = j + 1) begin : deskew
            reg [31:0] d [0:N-1-j];
            integer k;
            always @(posedge clk) begin
                d[0] <= s[N][j];
                for (k = 1; k <= N-1-j; k = k + 1) d[k] <= d[k-1];
            end
            assign sum_out[j*32 +: 32] = d[N-1-j];
        end
    endgenerate
endmodule
`default_nettype wire
