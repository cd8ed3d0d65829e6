"""Complaints: complaints about staff 投诉, disputes 纠纷调处, petitions 信访 and suggestions, from
registration through 签收, handling, 答复 and the call-back 回访 to an honest close, with stage limits in
working days, findings about staff, and early warning of emerging problems 苗头性问题."""
