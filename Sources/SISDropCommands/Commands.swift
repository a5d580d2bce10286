import SISDrop
