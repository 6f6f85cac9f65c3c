// Two sources joined into two sinks: each pair (x, y) taken together sends
// x + y on s (inverted while mode is set) and {y, x} on t, where it waits in
// a register until t takes it; a new pair is taken only when t has room.
module join2 (
    input  wire        clk,
    input  wire        rst,
    input  wire        mode,
    input  wire        x_valid,
    output wire        x_ready,
    input  wire [15:0] x_data,
    input  wire        y_valid,
    output wire        y_ready,
    input  wire [ 7:0] y_data,
    output wire        s_valid,
    input  wire        s_ready,
    output wire [16:0] s_data,
    output wire        t_valid,
    input  wire        t_ready,
    output wire [23:0] t_data
);
  reg         t_full;
  reg  [23:0] t_reg;
  wire        t_free = !t_full || t_ready;
  wire        fire = x_valid && y_valid && s_ready && t_free;
  wire [16:0] sum = {1'b0, x_data} + {9'd0, y_data};
  assign x_ready = y_valid && s_ready && t_free;
  assign y_ready = x_valid && s_ready && t_free;
  assign s_valid = x_valid && y_valid && t_free;
  assign s_data  = mode ? ~sum : sum;
  assign t_valid = t_full;
  assign t_data  = t_reg;
  always @(posedge clk) begin
    if (rst) t_full <= 1'b0;
    else if (fire) t_full <= 1'b1;
    else if (t_ready) t_full <= 1'b0;
    if (fire) t_reg <= {y_data, x_data};
  end
endmodule
